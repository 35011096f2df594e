/** `cairn serve`: runs a node until SIGTERM/SIGINT. */
import { Option, type Command } from 'commander';
import { DEFAULT_LIMITS, DEFAULT_NODE_OPTIONS, ENGINE_NAMES, type EngineName, type Limits, type NodeOptions } from '../config.js';
import { positiveInt } from './options.js';

/** Help for the flag of each limit; typed so that a new Limits field needs a flag here. */
const LIMIT_HELP: Record<keyof Limits, string> = {
  maxRequestBytes: 'largest accepted request, in bytes',
  maxTxnOps: 'most operations in one transaction',
  maxKeyBytes: 'largest key, in bytes',
  maxValueBytes: 'largest value, in bytes',
  maxWatchesPerStream: 'most watches on one watch stream',
  maxWatcherBufferEvents: 'events buffered per watcher before it catches up from storage',
  watchCatchUpBatchEvents: 'most events per catch-up read from storage',
  maxWatchStreams: 'most watch streams open at once',
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

type ServeFlags = Partial<Limits> & {
  listen: string;
  dataDir: string;
  engine: EngineName;
  logLevel: string;
  watchProgressInterval: number;
};

function nodeOptions(flags: ServeFlags): NodeOptions {
  const limits = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(LIMIT_HELP) as (keyof Limits)[]) {
    const value = flags[name];
    if (value !== undefined) limits[name] = value;
  }
  return {
    listen: flags.listen,
    dataDir: flags.dataDir,
    engine: flags.engine,
    logLevel: flags.logLevel,
    watchProgressIntervalMs: flags.watchProgressInterval,
    limits,
  };
}

async function serve(flags: ServeFlags): Promise<void> {
  const options = nodeOptions(flags);
  // Loaded lazily so that client commands do not load the storage engines.
  const { startNode } = await import('../main.js');
  const node = await startNode(options);
  process.stdout.write(`cairn: serving on ${node.address} (data ${options.dataDir}, engine ${options.engine})\n`);
  await new Promise<void>((resolve, reject) => {
    let closing = false;
    const shutdown = (signal: NodeJS.Signals): void => {
      if (closing) {
        process.stderr.write(`cairn: ${signal} again, exiting without a clean shutdown\n`);
        process.exit(1);
      }
      closing = true;
      process.stderr.write(`cairn: ${signal} received, shutting down\n`);
      node.close().then(resolve, reject);
    };
    process.on('SIGTERM', shutdown).on('SIGINT', shutdown);
  });
}

export function registerServe(program: Command): void {
  const d = DEFAULT_NODE_OPTIONS;
  const cmd = program
    .command('serve')
    .description('run a node serving KV, Watch, health and reflection on one port')
    .option('--listen <host:port>', 'address to listen on (port 0 picks a free port)', d.listen)
    .option('--data-dir <dir>', 'directory of the database', d.dataDir)
    .addOption(new Option('--engine <name>', 'storage engine').choices(ENGINE_NAMES).default(d.engine))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default(d.logLevel))
    .addOption(
      new Option('--watch-progress-interval <ms>', 'interval of progress notifications on watches that ask for them')
        .argParser(positiveInt)
        .default(d.watchProgressIntervalMs),
    );
  for (const [name, help] of Object.entries(LIMIT_HELP) as [keyof Limits, string][]) {
    cmd.addOption(
      new Option(`--${kebab(name)} <n>`, `${help} (default: ${DEFAULT_LIMITS[name]})`).argParser(positiveInt),
    );
  }
  cmd.action(serve);
}
