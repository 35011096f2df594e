/** Everything a node needs to start, with the defaults `cairn serve` uses. */

export type EngineName = 'rocksdb' | 'leveldb';
export const ENGINE_NAMES: readonly EngineName[] = ['rocksdb', 'leveldb'];

/**
 * LevelDB keeps max_open_files - 10 table files open and memory-maps each (up to 1000 maps
 * on 64-bit), so every table page it reads stays in the member's resident set until the
 * table leaves its cache; it raises a smaller setting to 74 (a cache of 64 tables, about
 * 2 MiB each). Its own default of 1000 let a member installing a 1.1 GiB snapshot reach
 * 2.2 GiB of RSS, nearly all of it mapped table files (docs/operations.md, "Sizing").
 */
export const LEVELDB_MIN_OPEN_FILES = 74;

/** Limits guard memory and latency against any client; each has a `cairn serve` flag. */
export interface Limits {
  /** Largest accepted request, in bytes (etcd's default: 1.5 MiB). */
  maxRequestBytes: number;
  /** Most operations in one transaction, counting nested ones. */
  maxTxnOps: number;
  /** Largest key, in bytes. */
  maxKeyBytes: number;
  /** Largest value, in bytes. */
  maxValueBytes: number;
  /** Most watches open on one watch stream. */
  maxWatchesPerStream: number;
  /** Events buffered for one watcher before it falls back to catching up from storage. */
  maxWatcherBufferEvents: number;
  /**
   * Bytes one watch stream may hold for all its watchers (events waiting, and responses
   * handed to the transport but not yet sent) before its watchers fall back to catching up
   * from storage and it stops reading requests.
   */
  maxWatchStreamBufferBytes: number;
  /**
   * Bytes of watch responses handed to the transport and not yet sent, for all streams of
   * the member together; each stream may always have one response in flight.
   */
  maxWatchSendBufferBytes: number;
  /** Most events sent to a watcher in one catch-up read from storage. */
  watchCatchUpBatchEvents: number;
  /** Bytes of recent revisions kept in memory, so that watchers a little behind catch up without reading storage. */
  watchCacheBytes: number;
  /** Most watch streams open on the node at once. */
  maxWatchStreams: number;
  /** Most leases the cluster holds (checked by the member that proposes a grant). */
  maxLeases: number;
  /** Most keys attached to one lease (its revoke deletes them all at one revision). */
  maxKeysPerLease: number;
  /** Longest lease TTL a grant may ask for, in seconds (etcd's limit: 9,000,000,000). */
  maxLeaseTtl: number;
  /** Keep-alive requests of one stream being answered at once; the stream is not read further meanwhile. */
  maxLeaseKeepAlivesPerStream: number;
  /** Keep-alives and time-to-live requests this member forwards to the leader at once, all streams together. */
  maxLeaseForwards: number;
  /**
   * Snapshot streams (Maintenance.Snapshot) served at once. Each pins an engine snapshot
   * (old files stay on disk while it is read) and a reader, so they are few.
   */
  maxSnapshotStreams: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
  maxKeyBytes: 32 * 1024,
  maxValueBytes: 1.5 * 1024 * 1024,
  maxWatchesPerStream: 1000,
  maxWatcherBufferEvents: 256,
  maxWatchStreamBufferBytes: 1024 * 1024,
  maxWatchSendBufferBytes: 32 * 1024 * 1024,
  watchCatchUpBatchEvents: 1000,
  watchCacheBytes: 4 * 1024 * 1024,
  maxWatchStreams: 10_000,
  maxLeases: 1_000_000,
  maxKeysPerLease: 10_000,
  maxLeaseTtl: 9_000_000_000,
  maxLeaseKeepAlivesPerStream: 128,
  maxLeaseForwards: 10_000,
  maxSnapshotStreams: 2,
});

/**
 * Transport security, with etcd's flag names. One gRPC server on one port serves clients and
 * peers, so it presents `certFile` to both and verifies client certificates against both
 * CAs; the peer service then accepts only certificates issued by the peer CA that name a
 * member. Empty strings mean "not set".
 */
export interface TlsOptions {
  /** The certificate this member's server presents (PEM); setting it turns TLS on. */
  certFile: string;
  keyFile: string;
  /** CA that client certificates must chain to. */
  trustedCaFile: string;
  /** Refuse clients that present no valid certificate. */
  clientCertAuth: boolean;
  /** The certificate this member presents when dialing peers (default: certFile). */
  peerCertFile: string;
  peerKeyFile: string;
  /** CA that peers' certificates must chain to (default: trustedCaFile). */
  peerTrustedCaFile: string;
  /** How often the certificate files are re-read, so a rotated certificate is used without restart. */
  reloadIntervalMs: number;
}

export const DEFAULT_TLS_OPTIONS: Readonly<TlsOptions> = Object.freeze({
  certFile: '',
  keyFile: '',
  trustedCaFile: '',
  clientCertAuth: false,
  peerCertFile: '',
  peerKeyFile: '',
  peerTrustedCaFile: '',
  reloadIntervalMs: 10_000,
});

export interface NodeOptions {
  /** Member name; the member id is derived from it. */
  name: string;
  /**
   * Every member as name=host:port, comma-separated, the same on every member; empty for a
   * single-member cluster. This member's entry is the address its peers dial.
   */
  initialCluster: string;
  /**
   * Mixed into the cluster id at bootstrap so that clusters with the same member names are
   * told apart (etcd's --initial-cluster-token); '' picks one (single member) or none.
   */
  initialClusterToken: string;
  /**
   * Endpoints (host:port,...) of a running cluster this new member joins, after
   * `cairn member add` named it there; empty otherwise. Ignored once the data dir knows its
   * cluster (a restart).
   */
  join: string;
  /** host:port the gRPC server listens on. */
  listen: string;
  tls: TlsOptions;
  /** Allow listening without TLS on an address other than loopback (anyone who can reach it could join). */
  insecurePlaintext: boolean;
  /** Directory that holds the node's database. */
  dataDir: string;
  engine: EngineName;
  limits: Limits;
  /** Interval between periodic progress notifications on watches that asked for them. */
  watchProgressIntervalMs: number;
  /** pino log level. */
  logLevel: string;
  /** Raft tick: the leader's heartbeat interval (etcd's default: 100 ms). */
  heartbeatIntervalMs: number;
  /** Time without a leader before a follower campaigns (etcd's default: 1 s). */
  electionTimeoutMs: number;
  /** How long a write or linearizable read may wait for consensus before failing. */
  requestTimeoutMs: number;
  /** Applied entries between Raft log compactions. */
  snapshotCount: number;
  /** Entries kept in the log after a compaction, so slightly lagging followers need no snapshot. */
  snapshotCatchUpEntries: number;
  /**
   * Bytes of Raft log entries held in memory: past it the member compacts its log early, as
   * snapshotCount does by count (node/raft-driver.ts maybeCompact). At least maxRequestBytes.
   */
  maxRaftLogMemoryBytes: number;
  /** Snapshots this member receives from leaders at once; each is written to a file in the data dir. */
  maxIncomingSnapshots: number;
  /**
   * Disk space kept free when receiving a snapshot: a transfer the data dir cannot hold with
   * this much to spare is refused (there is no fixed size limit on snapshots).
   */
  snapshotDiskReserveBytes: number;
  /**
   * Smallest lease TTL in seconds; grants asking for less get this. 0 means derived from the
   * election timeout (see minLeaseTtlSeconds), so that no lease can expire during an election.
   */
  minLeaseTtl: number;
  /** How often the leader checkpoints remaining lease TTLs through the log. */
  leaseCheckpointIntervalMs: number;
  /** Lifetime of the tokens Authenticate issues (etcd's simple tokens: 5 minutes). */
  authTokenTtlMs: number;
  /**
   * Operator action for a member refused for damage: wipe the local data and rejoin as an
   * empty member (same id) that receives a snapshot from the leader.
   */
  discardLocalDataAndRejoin: boolean;
  /**
   * How often the leader compares members' HashKV at its current revision; a difference
   * raises a CORRUPT alarm that stops writes cluster-wide. 0 turns the check off.
   */
  corruptCheckIntervalMs: number;
  /** Before serving, compare this member's HashKV with its peers' and refuse to start when it alone differs. */
  initialCorruptCheck: boolean;
  /**
   * The space quota (etcd's --quota-backend-bytes): once a member's database is larger, a
   * NOSPACE alarm stops writes that add data cluster-wide until usage is back under it.
   * 0 turns the quota off.
   */
  quotaBackendBytes: number;
  /** How often each member measures its database against the quota. */
  quotaCheckIntervalMs: number;
  /** The storage engine's block cache, in bytes. */
  engineCacheBytes: number;
  /** The storage engine's memtable budget, in bytes (see storage/open-engine.ts). */
  engineMemtableBytes: number;
  /** LevelDB: files it keeps open, its table files memory-mapped (see storage/open-engine.ts). */
  engineMaxOpenFiles: number;
  // --- observability (docs/observability.md) ---
  /** host:port of the HTTP side port for /metrics, /healthz and /readyz; empty: none. */
  metricsListen: string;
  /** /readyz answers 503 while more committed entries than this wait to be applied. */
  readyMaxApplyLag: number;
  /**
   * Serve etcd's v3 API (etcdserverpb KV, Watch, Lease, ...) beside cairn.v1 on the same
   * port, over the same store and checks, so that etcd's clients work unchanged (issue 17).
   */
  etcdCompat: boolean;
}

/** As etcd: 1.5 election timeouts, rounded up to whole seconds, unless set. */
export function minLeaseTtlSeconds(options: Pick<NodeOptions, 'minLeaseTtl' | 'electionTimeoutMs'>): number {
  return options.minLeaseTtl > 0 ? options.minLeaseTtl : Math.ceil((1.5 * options.electionTimeoutMs) / 1000);
}

export const DEFAULT_NODE_OPTIONS: Readonly<NodeOptions> = Object.freeze({
  name: 'default',
  initialCluster: '',
  initialClusterToken: '',
  join: '',
  listen: '127.0.0.1:7379',
  tls: DEFAULT_TLS_OPTIONS,
  insecurePlaintext: false,
  dataDir: './cairn-data',
  engine: 'rocksdb',
  limits: DEFAULT_LIMITS,
  watchProgressIntervalMs: 10 * 60 * 1000,
  logLevel: 'info',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  requestTimeoutMs: 7000,
  snapshotCount: 10_000,
  snapshotCatchUpEntries: 5_000,
  maxRaftLogMemoryBytes: 64 * 1024 * 1024,
  maxIncomingSnapshots: 2,
  snapshotDiskReserveBytes: 64 * 1024 * 1024,
  minLeaseTtl: 0,
  leaseCheckpointIntervalMs: 1000,
  authTokenTtlMs: 5 * 60 * 1000,
  discardLocalDataAndRejoin: false,
  corruptCheckIntervalMs: 5 * 60 * 1000,
  initialCorruptCheck: true,
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  quotaCheckIntervalMs: 1000,
  engineCacheBytes: 8 * 1024 * 1024,
  engineMemtableBytes: 16 * 1024 * 1024,
  engineMaxOpenFiles: LEVELDB_MIN_OPEN_FILES,
  metricsListen: '',
  readyMaxApplyLag: 5_000,
  etcdCompat: true,
});
