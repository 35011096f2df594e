/** Entry point of the `cairn` command (bin/cairn.js imports the compiled file). */
import { Command, CommanderError } from 'commander';
import { registerAlarm } from './alarm.js';
import { registerAuth } from './auth.js';
import { registerBench } from './bench.js';
import { registerCompact } from './compact.js';
import { registerDel } from './del.js';
import { registerElect } from './elect.js';
import { EXIT_USAGE, reportError } from './errors.js';
import { registerGet } from './get.js';
import { registerLease } from './lease.js';
import { registerLock } from './lock.js';
import { inheritClientOptions } from './options.js';
import { registerPut } from './put.js';
import { registerRole } from './role.js';
import { registerServe } from './serve.js';
import { registerStatus } from './status.js';
import { registerSnapshot } from './snapshot.js';
import { registerDefrag } from './defrag.js';
import { registerCheck } from './check.js';
import { registerMoveLeader } from './move-leader.js';
import { registerMember } from './member.js';
import { registerTxn } from './txn.js';
import { registerUser } from './user.js';
import { cairnVersion } from './version.js';
import { registerWatch } from './watch.js';

// grpc-js hands an endpoint's IP address to TLS as the server name, which Node flags as
// deprecated (DEP0123) on every TLS command to an IP; the certificate is still checked
// against the IP. Operators can do nothing about it, so the CLI does not print it.
process.noDeprecation = true;

function buildProgram(): Command {
  const program = new Command('cairn')
    .description('Cairn: a distributed configuration store (etcd v3 alternative)')
    // Commander exits on its own with code 1; we rethrow to exit 2 on usage errors.
    .exitOverride()
    .version(`cairn ${cairnVersion()}`, '--version', 'print the version of cairn')
    .showHelpAfterError('(run with --help for usage)')
    .allowExcessArguments(false);
  inheritClientOptions(program);
  for (const register of [
    registerServe,
    registerPut,
    registerGet,
    registerDel,
    registerWatch,
    registerLease,
    registerTxn,
    registerCompact,
    registerStatus,
    registerSnapshot,
    registerDefrag,
    registerCheck,
    registerMoveLeader,
    registerMember,
    registerAlarm,
    registerUser,
    registerRole,
    registerAuth,
    registerLock,
    registerElect,
    registerBench,
  ]) {
    register(program);
  }
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    // A command that reports an exit code of its own (`lock` passes on its command's) sets it.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version requests end with exitCode 0; everything else is bad usage.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return reportError(err);
  }
}

// Exit explicitly: gRPC channels and timers could otherwise keep the process alive.
process.exit(await main(process.argv));
