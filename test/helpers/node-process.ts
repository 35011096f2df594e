/**
 * Runs `cairn` as real processes for end-to-end tests: a node (`cairn serve`) on a free
 * loopback port with a temporary data dir, and one-shot client commands.
 *
 *   const node = await startNodeProcess();          // waits for "serving on <addr>"
 *   const r = await runCli(['get', 'k', '--endpoints', node.address]);
 *   await node.stop();                             // SIGTERM, waits for exit
 *   await node.kill();                             // SIGKILL, for crash tests
 *   await node.restart();                          // same data dir and port
 *   await node.cleanup();                          // stops it and removes the data dir
 *
 * Needs the compiled CLI: run `npx tsc -p .` (npm test does) so dist/ is current.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found upwards so this works from test/ and from dist/test/. */
export const REPO_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

export const CAIRN_BIN = join(REPO_ROOT, 'bin', 'cairn.js');

const READY_TIMEOUT_MS = 30_000;
const CLI_TIMEOUT_MS = 90_000;

export interface NodeProcessOptions {
  /** Data directory; a fresh temporary one (removed by cleanup) when omitted. */
  dataDir?: string;
  /** host:port to listen on; default 127.0.0.1:0, a free port chosen by the node. */
  listen?: string;
  /** Extra `cairn serve` flags, e.g. ['--engine', 'leveldb']. */
  args?: string[];
  /** Added to the inherited environment (e.g. the allocator settings a deployment uses). */
  env?: Record<string, string>;
}

export interface NodeProcess {
  /** host:port the node reported it serves on. */
  readonly address: string;
  readonly dataDir: string;
  readonly pid: number;
  /** Everything the node wrote to stdout and stderr so far, for failure messages. */
  output(): string;
  /** SIGTERM, then waits for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** Waits for the node to exit by itself (it was removed from its cluster, say); resolves to the exit code. */
  exited(): Promise<number | null>;
  /** SIGKILL, then waits for the exit: a crash. */
  kill(): Promise<void>;
  /** Starts the node again on the same data dir and address (after stop or kill). */
  restart(): Promise<void>;
  /** Stops the node if it runs and removes a temporary data dir. */
  cleanup(): Promise<void>;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Spawns `cairn serve` and resolves once it printed "serving on <address>". */
function spawnServe(
  listen: string,
  dataDir: string,
  args: string[],
  log: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [CAIRN_BIN, 'serve', '--listen', listen, '--data-dir', dataDir, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cairn serve not ready within ${READY_TIMEOUT_MS} ms:\n${log.join('')}`));
    }, READY_TIMEOUT_MS);
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      log.push(chunk);
      stdout += chunk;
      // Up to the space after it: the line may arrive in pieces, cutting the address short.
      const match = /serving on (\S+)\s/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, address: match[1]! });
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => log.push(chunk));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`cairn serve exited (${code ?? signal}) before serving:\n${log.join('')}`));
    });
  });
}

export async function startNodeProcess(options: NodeProcessOptions = {}): Promise<NodeProcess> {
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'cairn-test-')));
  const args = options.args ?? [];
  const log: string[] = [];
  let { child, address } = await spawnServe(options.listen ?? '127.0.0.1:0', dataDir, args, log, options.env);
  const stopWith = async (signal: NodeJS.Signals): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited(child);
  };
  return {
    get address() {
      return address;
    },
    get pid() {
      return child.pid!;
    },
    dataDir,
    output: () => log.join(''),
    stop: () => stopWith('SIGTERM'),
    exited: () => exited(child),
    kill: async () => {
      await stopWith('SIGKILL');
    },
    restart: async () => {
      await stopWith('SIGTERM');
      ({ child, address } = await spawnServe(address, dataDir, args, log, options.env));
    },
    cleanup: async () => {
      await stopWith('SIGTERM');
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  /** stdout as the bytes written, for binary output. */
  stdoutBytes: Buffer;
  stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed (it is always closed). */
  input?: string | Buffer;
  /** Added to the environment; CAIRN_ENDPOINTS is removed from the inherited one. */
  env?: Record<string, string>;
  /** The command is killed after this long (default 90 s); stderr then says so. */
  timeoutMs?: number;
}

/** Starts `cairn <args>` with piped stdio; for long-running commands such as watch. */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcess {
  const { CAIRN_ENDPOINTS: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, [CAIRN_BIN, ...args], { env: { ...env, ...options.env }, stdio: 'pipe' });
  child.stdin.end(options.input ?? '');
  return child;
}

/** Runs `cairn <args>` to completion. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return collectCli(spawnCli(args, options), options);
}

/**
 * Runs `cairn <args>` through sh, whose words may be any bytes (Node passes arguments as
 * UTF-8 only): `printf` escapes in `shellArgs` give arguments that are not UTF-8.
 */
export function runCliInShell(shellArgs: string, options: CliOptions = {}): Promise<CliResult> {
  const { CAIRN_ENDPOINTS: _ignored, ...env } = process.env;
  const child = spawn('/bin/sh', ['-c', `exec "$0" "$1" ${shellArgs}`, process.execPath, CAIRN_BIN], {
    env: { ...env, ...options.env },
    stdio: 'pipe',
  });
  child.stdin.end(options.input ?? '');
  return collectCli(child, options);
}

function collectCli(child: ChildProcess, options: CliOptions): Promise<CliResult> {
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  // Only a bound on a hang: on a busy machine a command that starts a fresh node process
  // can take many seconds, and several tests run them at once.
  const timeoutMs = options.timeoutMs ?? CLI_TIMEOUT_MS;
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code,
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: killed ? `${stderr}[killed: still running after ${timeoutMs} ms]\n` : stderr,
      });
    });
  });
}
