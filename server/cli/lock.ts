/**
 * `cairn lock <name> [-- command...]`: waits for the lock `name` (etcdctl's shape), then
 * runs the command while holding it, with the lock's key and fencing token in its
 * environment (CAIRN_LOCK_KEY, CAIRN_LOCK_TOKEN); releases the lock when the command exits
 * and exits with its code. Without a command it prints the key and holds the lock until
 * interrupted. If the session is lost while the command runs, the command gets SIGTERM
 * and `cairn lock` fails: from then on another client may hold the lock.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { Option, type Command } from 'commander';
import { argBytes } from './bytes.js';
import { withClient } from './client.js';
import { CliError, usageError } from './errors.js';
import { addClientOptions, positiveInt, type ClientFlags } from './options.js';
import { printJson, writeLine } from './output.js';
import { holdUntil, interruptions } from './interruptions.js';
import { Mutex, type Session } from './sdk.js';

/** The error `cairn lock` and `cairn elect` fail with once their session is lost. */
export function sessionLost(session: Session): CliError {
  const reason = session.endedError().message;
  return new CliError(reason.startsWith('session lost') ? reason : `session lost: ${reason}`);
}

interface LockFlags extends ClientFlags {
  ttl: number;
}

/**
 * Runs the command with inherited stdio; resolves with its exit code (128 + n for signal
 * n). An interrupt or a lost session (`stop`) sends it SIGTERM; a terminal's Ctrl-C reaches
 * it directly, as it shares the process group.
 */
function runCommand(command: string[], env: Record<string, string>, stop: AbortSignal): Promise<number> {
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
  const onStop = (): void => void child.kill('SIGTERM');
  stop.addEventListener('abort', onStop, { once: true });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      stop.removeEventListener('abort', onStop);
      reject(new CliError(`cannot run ${command[0]}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      stop.removeEventListener('abort', onStop);
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}

export function registerLock(program: Command): void {
  const cmd = program
    .command('lock')
    .description(
      "acquire the lock <name>, run the command while holding it (env CAIRN_LOCK_KEY, CAIRN_LOCK_TOKEN), release it; exits with the command's code",
    )
    .argument('<name>', 'lock name (keys <name>/<lease id hex>, as etcd and the SDKs)')
    .argument('[command...]', 'command to run after --; without one, hold the lock until interrupted')
    .addOption(new Option('--ttl <seconds>', 'session TTL: how long a dead holder keeps the lock').argParser(positiveInt).default(60));
  addClientOptions(cmd).action(async (name: string, command: string[], flags: LockFlags) => {
    if (argBytes(name, false, 'lock name').length === 0) throw usageError('the lock name must not be empty');
    const stop = interruptions();
    await withClient(flags, async (client) => {
      // The SDK's session and mutex: the same keys and queue as every SDK's lock.
      const session = await client.session({ ttl: flags.ttl });
      session.on('lost', () => stop.abort());
      const mutex = new Mutex(session, name);
      try {
        const token = await mutex.lock({ signal: stop.signal });
        try {
          if (command.length === 0) {
            if (flags.output === 'json') printJson({ key: Buffer.from(mutex.key, 'utf8'), token });
            else writeLine(mutex.key);
            await holdUntil(stop.signal);
          } else {
            process.exitCode = await runCommand(command, { CAIRN_LOCK_KEY: mutex.key, CAIRN_LOCK_TOKEN: String(token) }, stop.signal);
          }
          if (session.isLost) throw sessionLost(session);
        } finally {
          if (!session.isLost) await mutex.unlock();
        }
      } catch (err) {
        if (session.isLost) throw sessionLost(session);
        if (stop.interrupted !== undefined) {
          process.exitCode = stop.interrupted;
          return;
        }
        throw err;
      } finally {
        await session.close();
      }
    });
  });
}
