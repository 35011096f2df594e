/**
 * Runs etcdctl (either build) against a set of endpoints: one-shot commands to completion,
 * and long-running ones (watch, elect) until their output says they did what was asked,
 * then SIGTERM by PID (etcdctl then unlocks, resigns and closes its session, as a user's
 * Ctrl-C would).
 */
import { spawn } from 'node:child_process';
import type { Etcdctl } from './etcd-tools.js';

/** Only a bound on a hang: on a busy machine a command can take many seconds. */
const COMMAND_TIMEOUT_MS = 120_000;

export interface EtcdctlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface EtcdctlOptions {
  readonly stdin?: string;
  /** For a command that does not end by itself: stop it once this holds of its stdout. */
  readonly until?: (stdout: string) => boolean;
  /** Or stop it once this settles. */
  readonly stop?: Promise<unknown>;
  /** Called with all of stdout so far on each chunk: lets a caller wait for a line. */
  readonly onStdout?: (stdout: string) => void;
}

export function runEtcdctl(
  ctl: Etcdctl,
  endpoints: readonly string[],
  args: readonly string[],
  options: EtcdctlOptions = {},
): Promise<EtcdctlResult> {
  const child = spawn(ctl.path, [`--endpoints=${endpoints.join(',')}`, '--command-timeout=30s', '--dial-timeout=30s', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: 'pipe',
  });
  // A command that does not read stdin may exit before it is written: EPIPE then is no error.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.stdin ?? '');
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
  };
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }, COMMAND_TIMEOUT_MS);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    options.onStdout?.(stdout);
    if (options.until?.(stdout) === true) stop();
  });
  void options.stop?.finally(stop);
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: timedOut ? `${stderr}[killed: still running after ${COMMAND_TIMEOUT_MS} ms]\n` : stderr });
    });
  });
}

/**
 * What a user sees of a result, minus etcdctl's own JSON log lines on stderr (timestamps,
 * caller lines): the exit code, stdout, and the "Error: ..." line.
 */
export function visible(result: EtcdctlResult): string {
  const errors = result.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{'))
    .join('\n');
  return `exit ${result.code ?? 'signal'}\n${result.stdout.trimEnd()}${errors === '' ? '' : `\nstderr: ${errors}`}`;
}
