/** `cairn serve`: runs a node until SIGTERM/SIGINT. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  DEFAULT_LIMITS,
  DEFAULT_NODE_OPTIONS,
  ENGINE_NAMES,
  LEVELDB_MIN_OPEN_FILES,
  type EngineName,
  type Limits,
  type NodeOptions,
} from '../config.js';
import { usageError } from './errors.js';
import { atLeast, nonNegativeInt, positiveInt } from './options.js';
import { MemberRemovedError } from '../member-removed.js';

/** Help for the flag of each limit; typed so that a new Limits field needs a flag here. */
const LIMIT_HELP: Record<keyof Limits, string> = {
  maxRequestBytes: 'largest accepted request, in bytes',
  maxTxnOps: 'most operations in one transaction',
  maxKeyBytes: 'largest key, in bytes',
  maxValueBytes: 'largest value, in bytes',
  maxWatchesPerStream: 'most watches on one watch stream',
  maxWatcherBufferEvents: 'events buffered per watcher before it catches up from storage',
  maxWatchStreamBufferBytes: 'bytes buffered per watch stream (all its watchers) before its watchers catch up from storage',
  maxWatchSendBufferBytes: 'bytes of watch responses in flight to clients, all streams together (each may always have one)',
  watchCatchUpBatchEvents: 'most events per catch-up read from storage',
  watchCacheBytes: 'bytes of recent revisions kept in memory for watchers catching up',
  maxWatchStreams: 'most watch streams open at once',
  maxLeases: 'most leases the cluster holds',
  maxKeysPerLease: 'most keys attached to one lease',
  maxLeaseTtl: 'longest lease TTL a grant may ask for, in seconds',
  maxLeaseKeepAlivesPerStream: 'keep-alives of one stream answered at once before the stream is paused',
  maxLeaseForwards: 'lease keep-alives and time-to-live requests forwarded to the leader at once',
  maxSnapshotStreams: 'snapshot (backup) streams served at once',
};

/** `--flag`, `--flag=true` or `--flag=false` (commander passes no value for the bare flag). */
function booleanFlag(value: string | undefined): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, not "${value}"`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

type ServeFlags = Partial<Limits> & {
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  join: string;
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  clientCertAuth: boolean;
  peerCertFile: string;
  peerKeyFile: string;
  peerTrustedCaFile: string;
  tlsReloadInterval: number;
  insecurePlaintext: boolean;
  heartbeatInterval: number;
  electionTimeout: number;
  requestTimeout: number;
  snapshotCount: number;
  /** Accepted and ignored (see the option). */
  durablePromiseInterval?: number;
  discardLocalDataAndRejoin?: boolean;
  corruptCheckInterval: number;
  initialCorruptCheck: boolean;
  quotaBackendBytes: number;
  quotaCheckInterval: number;
  engineCacheBytes: number;
  engineMemtableBytes: number;
  engineMaxOpenFiles: number;
  snapshotCatchUpEntries: number;
  maxRaftLogMemoryBytes: number;
  maxIncomingSnapshots: number;
  snapshotDiskReserveBytes: number;
  listen: string;
  dataDir: string;
  engine: EngineName;
  logLevel: string;
  watchProgressInterval: number;
  minLeaseTtl?: number;
  leaseCheckpointInterval: number;
  authTokenTtl: number;
  metricsListen: string;
  readyMaxApplyLag: number;
  etcdCompat: boolean;
};

function nodeOptions(flags: ServeFlags): NodeOptions {
  const limits = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(LIMIT_HELP) as (keyof Limits)[]) {
    const value = flags[name];
    if (value !== undefined) limits[name] = value;
  }
  // A usage error (printed, exit 2): commander prints its own errors only for parse failures.
  if (flags.electionTimeout < 5 * flags.heartbeatInterval) {
    throw usageError(
      `--election-timeout (${flags.electionTimeout} ms) must be at least 5 x --heartbeat-interval (${flags.heartbeatInterval} ms)`,
    );
  }
  if (flags.maxRaftLogMemoryBytes < limits.maxRequestBytes) {
    // Below one request, every write would compact the log.
    throw usageError(
      `--max-raft-log-memory-bytes (${flags.maxRaftLogMemoryBytes}) must be at least --max-request-bytes (${limits.maxRequestBytes})`,
    );
  }
  return {
    name: flags.name,
    initialCluster: flags.initialCluster,
    initialClusterToken: flags.initialClusterToken,
    join: flags.join,
    tls: {
      certFile: flags.certFile,
      keyFile: flags.keyFile,
      trustedCaFile: flags.trustedCaFile,
      clientCertAuth: flags.clientCertAuth,
      peerCertFile: flags.peerCertFile,
      peerKeyFile: flags.peerKeyFile,
      peerTrustedCaFile: flags.peerTrustedCaFile,
      reloadIntervalMs: flags.tlsReloadInterval,
    },
    insecurePlaintext: flags.insecurePlaintext,
    heartbeatIntervalMs: flags.heartbeatInterval,
    electionTimeoutMs: flags.electionTimeout,
    requestTimeoutMs: flags.requestTimeout,
    snapshotCount: flags.snapshotCount,
    snapshotCatchUpEntries: flags.snapshotCatchUpEntries,
    maxRaftLogMemoryBytes: flags.maxRaftLogMemoryBytes,
    maxIncomingSnapshots: flags.maxIncomingSnapshots,
    snapshotDiskReserveBytes: flags.snapshotDiskReserveBytes,
    discardLocalDataAndRejoin: flags.discardLocalDataAndRejoin === true,
    corruptCheckIntervalMs: flags.corruptCheckInterval,
    initialCorruptCheck: flags.initialCorruptCheck,
    quotaBackendBytes: flags.quotaBackendBytes,
    quotaCheckIntervalMs: flags.quotaCheckInterval,
    engineCacheBytes: flags.engineCacheBytes,
    engineMemtableBytes: flags.engineMemtableBytes,
    engineMaxOpenFiles: flags.engineMaxOpenFiles,
    listen: flags.listen,
    dataDir: flags.dataDir,
    engine: flags.engine,
    logLevel: flags.logLevel,
    watchProgressIntervalMs: flags.watchProgressInterval,
    minLeaseTtl: flags.minLeaseTtl ?? 0,
    leaseCheckpointIntervalMs: flags.leaseCheckpointInterval,
    authTokenTtlMs: flags.authTokenTtl,
    metricsListen: flags.metricsListen,
    readyMaxApplyLag: flags.readyMaxApplyLag,
    etcdCompat: flags.etcdCompat,
    limits,
  };
}

/** `cairn serve` exits with this when the member was removed from its cluster. */
export const REMOVED_EXIT_CODE = 3;

async function serve(flags: ServeFlags): Promise<void> {
  const options = nodeOptions(flags);
  if (flags.durablePromiseInterval !== undefined) {
    process.stderr.write('cairn: --durable-promise-interval has no effect any more (the record is written with each save); remove it\n');
  }
  // Loaded lazily so that client commands do not load the storage engines.
  const { startNode } = await import('../main.js');
  let node;
  try {
    node = await startNode(options);
  } catch (err) {
    // Restarted on a removed member's data dir: refused, with the same status as a removal.
    if (!(err instanceof MemberRemovedError)) throw err;
    process.stderr.write(`cairn: ${err.message}\n`);
    process.exitCode = REMOVED_EXIT_CODE;
    return;
  }
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
    // Removed from the cluster: it already shut down; say so and exit non-zero so that a
    // supervisor does not take it for a clean stop (restarting it would stop again).
    void node.removed.then((message) => {
      process.stderr.write(`cairn: ${message}\n`);
      process.exitCode = REMOVED_EXIT_CODE;
      resolve();
    });
  });
}

export function registerServe(program: Command): void {
  const d = DEFAULT_NODE_OPTIONS;
  const cmd = program
    .command('serve')
    .description('run a node serving KV, Watch, Lease, health and reflection on one port')
    .option('--name <name>', 'member name; the member id is derived from it', d.name)
    .option(
      '--initial-cluster <list>',
      'every member as name=host:port,... (the same on every member); omit for a single node',
      d.initialCluster,
    )
    .option(
      '--initial-cluster-token <token>',
      'names the cluster at bootstrap (mixed into its id); the same on every member, unique per cluster',
      d.initialClusterToken,
    )
    .option(
      '--join <endpoints>',
      "join a running cluster (host:port,... of its members) as the learner 'cairn member add NAME' added there; a member that --initial-cluster names bootstraps with it instead (one command line fits every pod of a StatefulSet)",
      d.join,
    )
    .option('--listen <host:port>', 'address to listen on (port 0 picks a free port)', d.listen)
    .option('--cert-file <file>', 'TLS: the certificate the server presents (PEM); turns TLS on', d.tls.certFile)
    .option('--key-file <file>', 'TLS: the key of --cert-file', d.tls.keyFile)
    .option('--trusted-ca-file <file>', 'TLS: CA that client certificates must chain to', d.tls.trustedCaFile)
    .option('--client-cert-auth', 'TLS: refuse clients without a valid client certificate', d.tls.clientCertAuth)
    .option('--peer-cert-file <file>', 'TLS: the certificate presented when dialing peers (default: --cert-file)', d.tls.peerCertFile)
    .option('--peer-key-file <file>', 'TLS: the key of --peer-cert-file', d.tls.peerKeyFile)
    .option(
      '--peer-trusted-ca-file <file>',
      "TLS: CA that peers' certificates must chain to (default: --trusted-ca-file); a peer's certificate names its member in a SAN",
      d.tls.peerTrustedCaFile,
    )
    .addOption(
      new Option('--tls-reload-interval <ms>', 'how often certificate files are re-read (rotation without restart)')
        .argParser(positiveInt)
        .default(d.tls.reloadIntervalMs),
    )
    .option('--insecure-plaintext', 'allow listening without TLS on an address other than loopback', d.insecurePlaintext)
    .addOption(new Option('--heartbeat-interval <ms>', 'raft heartbeat interval').argParser(positiveInt).default(d.heartbeatIntervalMs))
    .addOption(
      new Option('--election-timeout <ms>', 'time without a leader before campaigning').argParser(positiveInt).default(d.electionTimeoutMs),
    )
    .addOption(
      new Option('--request-timeout <ms>', 'how long a write or linearizable read may wait for consensus')
        .argParser(positiveInt)
        .default(d.requestTimeoutMs),
    )
    .addOption(
      new Option('--snapshot-count <n>', 'applied entries between raft log compactions').argParser(positiveInt).default(d.snapshotCount),
    )
    .addOption(
      new Option('--snapshot-catch-up-entries <n>', 'entries kept after a log compaction for slow followers')
        .argParser(positiveInt)
        .default(d.snapshotCatchUpEntries),
    )
    .addOption(
      new Option(
        '--max-raft-log-memory-bytes <n>',
        'bytes of raft log entries held in memory: past it the log is compacted early (at least --max-request-bytes)',
      )
        .argParser(positiveInt)
        .default(d.maxRaftLogMemoryBytes),
    )
    .addOption(
      new Option('--max-incoming-snapshots <n>', 'snapshots received from leaders at once (each is written to the data dir)')
        .argParser(positiveInt)
        .default(d.maxIncomingSnapshots),
    )
    .addOption(
      new Option(
        '--snapshot-disk-reserve-bytes <n>',
        'disk space kept free when receiving a snapshot: one the data dir cannot hold with this to spare is refused',
      )
        .argParser(nonNegativeInt)
        .default(d.snapshotDiskReserveBytes),
    )
    .addOption(
      // Kept so that existing command lines still start: the record of durably promised Raft
      // state no longer waits for a directory sync (storage/durable-promise.ts), so there is
      // no interval left to set.
      new Option('--durable-promise-interval <ms>', 'no effect (kept for existing command lines)').argParser(positiveInt).hideHelp(),
    )
    .option(
      '--discard-local-data-and-rejoin',
      'operator action for a member refused for damaged storage: delete its data and rejoin the cluster as an empty member that receives a snapshot from the leader',
    )
    .addOption(
      new Option('--corrupt-check-interval <ms>', "how often the leader compares members' key-space hashes (0: never)")
        .argParser(nonNegativeInt)
        .default(d.corruptCheckIntervalMs),
    )
    .addOption(
      new Option(
        '--quota-backend-bytes <n>',
        'space quota: once the database is larger, a NOSPACE alarm refuses writes that add data until usage is back under it (0: no quota)',
      )
        .argParser(nonNegativeInt)
        .default(d.quotaBackendBytes),
    )
    .addOption(
      new Option('--quota-check-interval <ms>', 'how often each member measures its database against --quota-backend-bytes')
        .argParser(positiveInt)
        .default(d.quotaCheckIntervalMs),
    )
    .option('--no-initial-corrupt-check', "serve without first comparing this member's key-space hash with its peers'")
    .option('--data-dir <dir>', 'directory of the database', d.dataDir)
    .addOption(new Option('--engine <name>', 'storage engine').choices(ENGINE_NAMES).default(d.engine))
    .addOption(
      new Option('--engine-cache-bytes <n>', "storage engine's block cache, in bytes").argParser(positiveInt).default(d.engineCacheBytes),
    )
    .addOption(
      new Option('--engine-memtable-bytes <n>', "storage engine's memtable budget, in bytes (RocksDB may use 1.5x while a flush stalls)")
        .argParser(positiveInt)
        .default(d.engineMemtableBytes),
    )
    .addOption(
      new Option(
        '--engine-max-open-files <n>',
        `LevelDB: files kept open; its table files are memory-mapped, so their pages count in the member's RSS (at least ${LEVELDB_MIN_OPEN_FILES})`,
      )
        .argParser(atLeast(LEVELDB_MIN_OPEN_FILES))
        .default(d.engineMaxOpenFiles),
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default(d.logLevel))
    .addOption(
      new Option('--auth-token-ttl <ms>', 'lifetime of the tokens Authenticate issues').argParser(positiveInt).default(d.authTokenTtlMs),
    )
    .addOption(
      new Option('--watch-progress-interval <ms>', 'interval of progress notifications on watches that ask for them')
        .argParser(positiveInt)
        .default(d.watchProgressIntervalMs),
    )
    .addOption(
      new Option(
        '--min-lease-ttl <s>',
        'smallest lease TTL in seconds; grants asking for less get this (default: 1.5 x --election-timeout, rounded up)',
      ).argParser(positiveInt),
    )
    .addOption(
      new Option('--lease-checkpoint-interval <ms>', 'how often the leader checkpoints remaining lease TTLs through the log')
        .argParser(positiveInt)
        .default(d.leaseCheckpointIntervalMs),
    )
    .option(
      '--metrics-listen <host:port>',
      'serve /metrics (Prometheus), /healthz and /readyz over HTTP here (port 0 picks a free port); off when not given',
      d.metricsListen,
    )
    .addOption(
      new Option('--ready-max-apply-lag <entries>', '/readyz fails while more committed entries than this wait to be applied')
        .argParser(nonNegativeInt)
        .default(d.readyMaxApplyLag),
    )
    .addOption(
      new Option('--etcd-compat [enabled]', "serve etcd's v3 API beside Cairn's on the same port (--etcd-compat=false: off)")
        .argParser(booleanFlag)
        .default(d.etcdCompat),
    );
  for (const [name, help] of Object.entries(LIMIT_HELP) as [keyof Limits, string][]) {
    cmd.addOption(new Option(`--${kebab(name)} <n>`, `${help} (default: ${DEFAULT_LIMITS[name]})`).argParser(positiveInt));
  }
  cmd.action(serve);
}
