/**
 * The member's Prometheus metrics (prom-client), one registry per member so that several
 * members in one process (tests) never mix their numbers.
 *
 * Two kinds of metric, chosen by cost:
 *  - event metrics (request counts and latencies, fsync latency, leader changes) are updated
 *    where the event happens, through label children created once, so that the hot path
 *    neither allocates label objects nor looks labels up by string;
 *  - state metrics (term, indexes, keys, watchers, peer counters the transport already
 *    keeps) are read from plain getters only when Prometheus scrapes (`collect`), so they
 *    cost nothing between scrapes.
 *
 * Names follow Prometheus conventions: `cairn_` prefix, base units (seconds, bytes),
 * `_total` on counters. The methods below take only numbers and strings, so this class
 * satisfies the observer ports of the layers above (server/node/ports/raft-observer.ts,
 * server/api/rpc-observer.ts) structurally, without importing them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';

/** Latency buckets from 0.5 ms to ~16 s: fsyncs and quorum round trips are sub-ms to seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384];
/** Entries per synced log write (group commit): 1 to 4096. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/** What the member can tell about itself at scrape time; each a cheap getter. */
export interface MetricSources {
  readonly raft: () => { term: number; leader: number; isLeader: boolean; commit: number; applied: number };
  readonly pendingProposals: () => number;
  /** The in-memory Raft log's bytes now, the most it held, and its bound (--max-raft-log-memory-bytes). */
  readonly raftLogMemory: () => { bytes: number; peakBytes: number; limitBytes: number };
  readonly keys: () => number;
  readonly revision: () => number;
  readonly compactedRevision: () => number;
  /** Bytes the member's database takes on disk. */
  readonly databaseSizeBytes: () => Promise<number>;
  readonly watchers: () => { synced: number; unsynced: number };
  readonly watchStreams: () => number;
  readonly peers: () => {
    peers: Readonly<Record<number, PeerCounters>>;
    snapshotsSent: number;
    snapshotsFailed: number;
  };
}

export interface PeerCounters {
  readonly sentMessages: number;
  readonly droppedMessages: number;
  readonly streamsOpened: number;
  readonly streamFailures: number;
  readonly queued: number;
  readonly active: boolean;
}

/**
 * One method's RPC figures. The counts are plain numbers that the counters read when scraped
 * (their `collect`): a prom-client `inc()` validates and hashes its labels on every call, and
 * profiled at 64 clients the three label lookups per request were most of the metrics'
 * share of a get (docs/benchmarks.md, "Where the time goes").
 */
type RpcChildren = {
  started: number;
  /** Indexed by gRPC status code (0-16); a code never seen has no series. */
  handled: (number | undefined)[];
  seconds: ReturnType<Histogram<'grpc_service' | 'grpc_method' | 'grpc_type'>['labels']>;
  labels: LabelValues<'grpc_service' | 'grpc_method' | 'grpc_type'>;
};

/** gRPC status names by code, as go-grpc-prometheus labels them. */
const GRPC_CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

export class CairnMetrics {
  readonly registry = new Registry();

  private readonly rpcStartedTotal: Counter<'grpc_service' | 'grpc_method' | 'grpc_type'>;
  private readonly rpcHandledTotal: Counter<'grpc_service' | 'grpc_method' | 'grpc_type' | 'grpc_code'>;
  private readonly rpcSeconds: Histogram<'grpc_service' | 'grpc_method' | 'grpc_type'>;
  private readonly rpcByPath = new Map<string, RpcChildren>();

  private readonly leaderChanges: Counter;
  private readonly proposalsCommitted: Counter;
  private readonly proposalsFailed: Counter;
  private readonly commitSeconds: Histogram;
  private readonly fsyncSeconds: Histogram;
  private readonly fsyncBatchEntries: Histogram;
  private readonly snapshotsReceived: Counter;
  private readonly logCompactions: Record<'entries' | 'bytes', ReturnType<Counter<'cause'>['labels']>>;
  private readonly watchEventsSent: Counter;

  /** `processMetrics`: also the process's CPU, memory, event-loop and GC metrics (these sample on timers). */
  constructor(labels: { member: string }, processMetrics = true) {
    const registers = [this.registry];
    this.registry.setDefaultLabels(labels);
    // process_* and nodejs_* (CPU, memory, event loop lag, GC), unprefixed as everywhere.
    if (processMetrics) collectDefaultMetrics({ register: this.registry });

    const rpcLabels = ['grpc_service', 'grpc_method', 'grpc_type'] as const;
    const rpcByPath = this.rpcByPath;
    this.rpcStartedTotal = new Counter({
      name: 'cairn_grpc_server_started_total',
      help: 'RPCs started on the server.',
      labelNames: rpcLabels,
      registers,
      collect() {
        this.reset();
        for (const rpc of rpcByPath.values()) this.inc(rpc.labels, rpc.started);
      },
    });
    this.rpcHandledTotal = new Counter({
      name: 'cairn_grpc_server_handled_total',
      help: 'RPCs completed on the server, by gRPC status code (streams count when they end).',
      labelNames: [...rpcLabels, 'grpc_code'],
      registers,
      collect() {
        this.reset();
        for (const rpc of rpcByPath.values()) {
          rpc.handled.forEach((count, code) => {
            if (count !== undefined) this.inc({ ...rpc.labels, grpc_code: GRPC_CODE_NAMES[code] ?? 'Unknown' }, count);
          });
        }
      },
    });
    this.rpcSeconds = new Histogram({
      name: 'cairn_grpc_server_handling_seconds',
      help: 'Time from the start of an RPC to its status (for streams: the stream lifetime).',
      labelNames: rpcLabels,
      buckets: LATENCY_BUCKETS,
      registers,
    });

    this.leaderChanges = new Counter({ name: 'cairn_raft_leader_changes_total', help: 'Times this member saw a new leader.', registers });
    this.proposalsCommitted = new Counter({
      name: 'cairn_raft_proposals_committed_total',
      help: 'Proposals made through this member that were committed and applied (their outcome reported back).',
      registers,
    });
    this.proposalsFailed = new Counter({
      name: 'cairn_raft_proposals_failed_total',
      help: 'Proposals made through this member that failed (no leader, leader change, timeout, shutdown).',
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'cairn_raft_commit_duration_seconds',
      help: 'From handing a proposal to Raft to its outcome on this member: quorum replication, fsync and apply.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.fsyncSeconds = new Histogram({
      name: 'cairn_raft_log_fsync_duration_seconds',
      help: 'Duration of a synced Raft log write (one per group-committed batch).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.fsyncBatchEntries = new Histogram({
      name: 'cairn_raft_log_fsync_batch_entries',
      help: 'Entries written per synced Raft log write (group commit batch size).',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.snapshotsReceived = new Counter({
      name: 'cairn_raft_snapshots_received_total',
      help: 'Raft snapshots received from the leader.',
      registers,
    });
    const logCompactions = new Counter({
      name: 'cairn_raft_log_compactions_total',
      help: 'Raft log compactions, by cause: "entries" after --snapshot-count applied entries, "bytes" past --max-raft-log-memory-bytes.',
      labelNames: ['cause'],
      registers,
    });
    this.logCompactions = { entries: logCompactions.labels({ cause: 'entries' }), bytes: logCompactions.labels({ cause: 'bytes' }) };
    this.watchEventsSent = new Counter({
      name: 'cairn_watch_events_sent_total',
      help: 'Watch events written to watch streams.',
      registers,
    });
  }

  // --- gRPC (server/api/rpc-observer.ts) -----------------------------------------------

  /** One method's figures, created on its first call and reused after. */
  rpcMethod(path: string, type: string): RpcChildren {
    let children = this.rpcByPath.get(path);
    if (children === undefined) {
      const slash = path.lastIndexOf('/');
      const labels: LabelValues<'grpc_service' | 'grpc_method' | 'grpc_type'> = {
        grpc_service: path.slice(1, slash),
        grpc_method: path.slice(slash + 1),
        grpc_type: type,
      };
      children = { started: 0, handled: [], seconds: this.rpcSeconds.labels(labels), labels };
      this.rpcByPath.set(path, children);
    }
    return children;
  }

  rpcStarted(children: RpcChildren): void {
    children.started++;
  }

  rpcFinished(children: RpcChildren, code: number, seconds: number): void {
    const known = code >= 0 && code < GRPC_CODE_NAMES.length ? code : 2; // 2: UNKNOWN
    children.handled[known] = (children.handled[known] ?? 0) + 1;
    children.seconds.observe(seconds);
  }

  // --- Raft (server/node/ports/raft-observer.ts) ---------------------------------------

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  proposalSettled(ok: boolean, seconds: number): void {
    if (ok) {
      this.proposalsCommitted.inc();
      this.commitSeconds.observe(seconds);
    } else this.proposalsFailed.inc();
  }

  logWritten(entries: number, synced: boolean, seconds: number): void {
    if (!synced) return;
    this.fsyncSeconds.observe(seconds);
    this.fsyncBatchEntries.observe(entries);
  }

  logCompacted(cause: 'entries' | 'bytes'): void {
    this.logCompactions[cause].inc();
  }

  snapshotReceived(): void {
    this.snapshotsReceived.inc();
  }

  // --- Watch ----------------------------------------------------------------------------

  watchEventsWritten(events: number): void {
    this.watchEventsSent.inc(events);
  }

  /** Registers the scrape-time metrics, read from the member's own getters. */
  observe(sources: MetricSources): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge('cairn_raft_term', 'Current Raft term.', () => sources.raft().term);
    gauge('cairn_raft_has_leader', '1 when this member knows a leader, else 0.', () => (sources.raft().leader !== 0 ? 1 : 0));
    gauge('cairn_raft_is_leader', '1 when this member is the leader, else 0.', () => (sources.raft().isLeader ? 1 : 0));
    gauge('cairn_raft_leader_id', 'Member id of the leader this member knows (0: none).', () => sources.raft().leader);
    gauge('cairn_raft_commit_index', 'Highest Raft log index known committed.', () => sources.raft().commit);
    gauge('cairn_raft_applied_index', 'Highest Raft log index applied to the store.', () => sources.raft().applied);
    gauge('cairn_raft_apply_lag_entries', 'Committed entries not yet applied (commit index - applied index).', () => {
      const r = sources.raft();
      return Math.max(0, r.commit - r.applied);
    });
    gauge('cairn_raft_proposals_pending', 'Proposals made through this member waiting for their outcome.', sources.pendingProposals);
    gauge(
      'cairn_raft_log_memory_bytes',
      'Bytes of Raft log entries held in memory (data plus 16 bytes each), bounded by --max-raft-log-memory-bytes.',
      () => sources.raftLogMemory().bytes,
    );
    gauge(
      'cairn_raft_log_memory_peak_bytes',
      'The most cairn_raft_log_memory_bytes has been since the member started (a scrape may miss a short peak).',
      () => sources.raftLogMemory().peakBytes,
    );
    gauge('cairn_raft_log_memory_limit_bytes', 'The bound --max-raft-log-memory-bytes.', () => sources.raftLogMemory().limitBytes);
    gauge('cairn_mvcc_keys', 'Keys in the store (live or with history not yet compacted).', sources.keys);
    gauge('cairn_mvcc_revision', 'Current store revision.', sources.revision);
    gauge('cairn_mvcc_compacted_revision', 'Revision below which history is compacted.', sources.compactedRevision);
    new Gauge({
      name: 'cairn_mvcc_db_size_bytes',
      help: "Bytes the member's database files take on disk.",
      registers,
      async collect() {
        this.set(await sources.databaseSizeBytes());
      },
    });
    gauge('cairn_watch_streams', 'Open watch streams.', sources.watchStreams);
    new Gauge({
      name: 'cairn_watch_watchers',
      help: 'Watchers on this member, synced (fed live) or unsynced (catching up from history).',
      labelNames: ['state'],
      registers,
      collect() {
        const w = sources.watchers();
        this.set({ state: 'synced' }, w.synced);
        this.set({ state: 'unsynced' }, w.unsynced);
      },
    });
    gauge(
      'cairn_watch_slow_watchers',
      'Watchers that fell behind and catch up from history (unsynced).',
      () => sources.watchers().unsynced,
    );

    // The transport keeps monotonic counters of its own; these mirror them at scrape time.
    const peerCounter = (name: string, help: string, read: (p: PeerCounters) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['peer'],
        registers,
        collect() {
          this.reset();
          for (const [peer, counters] of Object.entries(sources.peers().peers)) this.inc({ peer }, read(counters));
        },
      });
    };
    peerCounter('cairn_peer_sent_messages_total', 'Raft messages sent to a peer.', (p) => p.sentMessages);
    peerCounter(
      'cairn_peer_dropped_messages_total',
      'Raft messages to a peer dropped (queue full or stream down); Raft resends.',
      (p) => p.droppedMessages,
    );
    peerCounter('cairn_peer_stream_opens_total', 'Peer streams opened (the first one and every reconnect).', (p) => p.streamsOpened);
    peerCounter(
      'cairn_peer_stream_failures_total',
      'Peer streams that ended or failed and were reopened after a backoff.',
      (p) => p.streamFailures,
    );
    new Gauge({
      name: 'cairn_peer_queued_messages',
      help: 'Raft messages waiting for the peer stream.',
      labelNames: ['peer'],
      registers,
      collect() {
        for (const [peer, counters] of Object.entries(sources.peers().peers)) this.set({ peer }, counters.queued);
      },
    });
    new Gauge({
      name: 'cairn_peer_active',
      help: '1 when the stream to the peer is up and accepted, else 0.',
      labelNames: ['peer'],
      registers,
      collect() {
        for (const [peer, counters] of Object.entries(sources.peers().peers)) this.set({ peer }, counters.active ? 1 : 0);
      },
    });
    const snapshotCounter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    snapshotCounter('cairn_raft_snapshots_sent_total', 'Raft snapshots sent to followers.', () => sources.peers().snapshotsSent);
    snapshotCounter(
      'cairn_raft_snapshots_send_failures_total',
      'Raft snapshot transfers that failed.',
      () => sources.peers().snapshotsFailed,
    );
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
