import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Applier, type HeaderFactory } from './apply/applier.js';
import type { AlarmStore } from './apply/alarm-store.js';
import type { AuthStore } from './apply/auth/auth-store.js';
import type { CommandOutcome } from './apply/outcome.js';
import { ProposalCodec } from './apply/proposal-codec.js';
import { ReplicatedStateMachine } from './apply/replicated-state-machine.js';
import { SnapshotInbox } from './apply/snapshot-inbox.js';
import { Lessor } from './apply/lessor.js';
import { LessorLoop } from './apply/lessor-loop.js';
import type { Limits } from './config.js';
import type { MvccStore } from './mvcc/kv-store.js';
import { exportSnapshot, verifySnapshot } from './mvcc/snapshot.js';
import type { WatchHub } from './mvcc/watch-hub.js';
import type { RandomSource } from './raft/random.js';
import { RawNode } from './raft/raw-node.js';
import { StateRole, type ConfState, type NodeId, type Snapshot } from './raft/types.js';
import type { Message } from './raft/message.js';
import type { StorageEngine } from './storage/engine.js';
import type { RaftLogStore } from './storage/raft-log-store.js';
import { StorageIntegrityError } from './storage/storage-error.js';
import { FileChecksumError, readChecksummedFile } from './streams/checksummed-file-reader.js';
import type { PeerAuthenticator } from './transport/peer-authenticator.js';
import { incomingSnapshotDir, type ReceivedSnapshot } from './transport/incoming-snapshot.js';
import { TransportError, TransportErrorCode } from './transport/errors.js';
import { PeerServer } from './transport/peer-server.js';
import { DEFAULT_SNAPSHOT_CHUNK_BYTES, PeerTransport } from './transport/peer-transport.js';
import { SnapshotTracer } from './transport/snapshot-tracing.js';
import { RemotePeerFinder } from './remote-peer-finder.js';
import type { PeerStatusReporter, SnapshotSource } from './transport/types.js';
import type { ClusterConfig } from './node/cluster-config.js';
import type { Membership } from './node/membership.js';
import { InFlight } from './node/in-flight.js';
import { MemberNames } from './member-names.js';
import { IntervalTicker } from './node/interval-ticker.js';
import { RaftDriver } from './node/raft-driver.js';
import { RaftNode } from './node/raft-node.js';
import { RejoinGuard } from './node/rejoin-guard.js';
import { snapshotFirstPersistence } from './node/snapshot-first-persistence.js';
import { observedPersistence } from './node/observed-persistence.js';
import { EntryTracer } from './node/raft-tracing.js';
import type { RaftObserver } from './node/ports/raft-observer.js';
import type { TransportStats } from './transport/peer-transport.js';
import { invariant } from './invariant.js';
import { hashKeySpace } from './mvcc/hash-kv.js';

export interface RaftMemberOptions {
  cluster: ClusterConfig;
  /** The live member set; this member keeps it (and the transport's peers) in step with applied changes. */
  membership: Membership;
  /** The configuration the log starts from when there is no snapshot (bootstrap, or the one that added a joining member). */
  startConfig: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] };
  /** After each applied membership change, once `membership` holds it (to persist it). */
  onMembershipChanged: () => void;
  /** A committed change removed this member: it has stopped taking part and must shut down. */
  onRemoved: (event: { readonly index: number; readonly confState: ConfState }) => void;
  /**
   * A peer refused this member's messages because a committed change removed it: the leader
   * stops replicating to a removed member, which may never apply its own removal, so this is
   * how a removed follower learns it. It must shut down as for onRemoved.
   */
  onToldRemoved: (by: NodeId) => void;
  engine: StorageEngine;
  store: MvccStore;
  logStore: RaftLogStore;
  hub: WatchHub;
  auth: AuthStore;
  alarms: AlarmStore;
  header: HeaderFactory;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  requestTimeoutMs: number;
  snapshotCount: number;
  snapshotCatchUpEntries: number;
  /** Bytes of log entries held in memory before the log is compacted early (--max-raft-log-memory-bytes). */
  maxRaftLogMemoryBytes: number;
  /** The data dir: incoming snapshots are written to its snap/ (see incomingSnapshotDir). */
  dataDir: string;
  /** Snapshots received from leaders at once (--max-incoming-snapshots). */
  maxIncomingSnapshots: number;
  /** Disk space kept free when receiving a snapshot (--snapshot-disk-reserve-bytes). */
  snapshotDiskReserveBytes: number;
  limits: Limits;
  leaseCheckpointIntervalMs: number;
  logger: Logger;
  onFatal: (err: unknown) => void;
  /** The member discarded its data and must not vote until it caught up (see RejoinGuard). */
  rejoining: boolean;
  onCaughtUp: () => void;
  /** What this member presents and trusts when dialing peers (default: plaintext). */
  peerCredentials?: ChannelCredentials;
  /** Who may speak for which member on the peer service (default: anyone; plaintext only). */
  peerAuthenticator?: PeerAuthenticator;
  /** Metrics: told of leader changes, proposals, log writes and snapshots received. */
  observer?: RaftObserver & { snapshotReceived(): void };
  /** Trace proposals through Raft (server/node/raft-tracing.ts); only when tracing is on. */
  tracing?: boolean;
}

export interface RaftMember {
  readonly node: RaftNode<CommandOutcome>;
  readonly driver: RaftDriver;
  readonly peerServer: PeerServer;
  readonly lessor: Lessor;
  /** Checkpoints remaining lease TTLs through the log, so that a next leader continues from them. */
  checkpointLeases(): Promise<void>;
  /** The peer transport's counters (messages, drops, reconnects, snapshots), for metrics. */
  peerStats(): TransportStats;
  start(): void;
  close(): Promise<void>;
}

/** Entry bytes per append, as the core cuts them and as the driver merges them (see grpc-server.ts). */
const MAX_APPEND_BYTES = 1024 * 1024;
/** How often the leader looks for expired leases (etcd: 500 ms). */
const LESSOR_TICK_MS = 250;
/** Most leases in one expiry or checkpoint command (etcd batches 1000 too). */
const LEASE_BATCH = 1000;

/** Election timeouts must differ between members; nothing else in Raft needs randomness. */
const mathRandom: RandomSource = { nextInt: (n) => Math.floor(Math.random() * n) };

/**
 * Wires this member's Raft: the pure core, its driver, the durable log, the state machine
 * (the MVCC store), and the peer transport in both directions. One tick is one heartbeat
 * interval, so the election timeout is a whole number of ticks, as in etcd. Part of the
 * composition root (only main.ts imports it): it is where the driver's ports meet their
 * implementations in storage, transport and apply.
 */
export function createRaftMember(o: RaftMemberOptions): RaftMember {
  const { cluster, logger } = o;
  const self = cluster.self.id;
  const storage = o.logStore.storage;
  const { hardState } = storage.initialState();
  const firstApplicable = storage.firstIndex() - 1;
  invariant(
    o.store.consistentIndex >= firstApplicable,
    () => `the store applied up to ${o.store.consistentIndex}, but the raft log starts after ${firstApplicable}`,
  );
  const rawNode = new RawNode({
    id: self,
    voters: o.startConfig.voters,
    learners: o.startConfig.learners,
    storage,
    random: mathRandom,
    heartbeatTick: 1,
    electionTick: Math.max(2, Math.round(o.electionTimeoutMs / o.heartbeatIntervalMs)),
    // Entries the store already holds are not handed out again (it would skip them anyway).
    applied: Math.max(firstApplicable, Math.min(o.store.consistentIndex, hardState.commit)),
    // Appends stay well under the peer service's message cap.
    maxSizePerMsg: MAX_APPEND_BYTES,
  });

  // The configuration the core recovered (snapshot + conf changes replayed up to applied).
  o.membership.apply(rawNode.status().confState);

  const inbox = new SnapshotInbox(o.engine, o.store, o.hub, o.auth, o.alarms, logger);
  const late: { node?: RaftNode<CommandOutcome>; driver?: RaftDriver } = {};
  const lessor = new Lessor({
    table: () => o.store.leases,
    role: () => {
      const s = late.driver?.status();
      return { leader: s?.role === StateRole.Leader, term: s?.term ?? 0 };
    },
    now: () => performance.now(),
    promotionExtensionMs: o.electionTimeoutMs,
    checkpointIntervalMs: o.leaseCheckpointIntervalMs,
    maxBatch: LEASE_BATCH,
    expiryRetryMs: o.requestTimeoutMs,
  });
  // The state machine, the lessor, the transport and the driver refer to each other; late
  // binding through the closures over `late` breaks the construction cycle.
  // Encodes this member's proposals and decodes committed entries (see ProposalCodec).
  const proposals = new ProposalCodec();
  const stateMachine = new ReplicatedStateMachine(
    o.store,
    new Applier(o.header, o.auth, o.alarms, lessor.onChange),
    self,
    (id, outcome) => late.node?.onOutcome(id, outcome),
    inbox,
    proposals,
  );
  // Tracing on: spans for snapshot transfers, wrapped around the ports handed to the transport.
  const snapshotTracer = o.tracing === true ? new SnapshotTracer(self, DEFAULT_SNAPSHOT_CHUNK_BYTES) : undefined;
  const reporter: PeerStatusReporter = {
    reportUnreachable: (id) => late.driver?.reportUnreachable(id),
    reportSnapshot: (id, failed) => late.driver?.reportSnapshot(id, failed),
  };
  const snapshotSource: SnapshotSource = () => exportSnapshot(o.engine);
  // Set once the transport exists: an unknown member's address is handed to it.
  let addRemote = (_id: NodeId, _address: string): void => undefined;
  const remotes = new RemotePeerFinder({
    membership: o.membership,
    credentials: o.peerCredentials,
    timeoutMs: o.requestTimeoutMs,
    found: (id, address) => addRemote(id, address),
    logger,
  });
  const transport = new PeerTransport({
    clusterId: cluster.clusterId,
    self,
    peers: o.membership
      .list()
      .filter((m) => m.id !== self && m.address !== '')
      .map((m) => ({ id: m.id, address: m.address })),
    reporter: snapshotTracer?.reporter(reporter) ?? reporter,
    onRemovedByPeer: (by) => o.onToldRemoved(by),
    snapshotSource: snapshotTracer?.source(snapshotSource) ?? snapshotSource,
    ...(o.peerCredentials !== undefined ? { credentials: o.peerCredentials } : {}),
    logger,
    onUnknownPeer: (id) => remotes.find(id),
  });
  const names = new MemberNames({
    membership: o.membership,
    ...(o.peerCredentials !== undefined ? { credentials: o.peerCredentials } : {}),
    learned: (members) => {
      for (const m of members) if (o.membership.isMember(m.id)) transport.addPeer({ id: m.id, address: m.address });
      o.onMembershipChanged();
    },
    retryMs: o.electionTimeoutMs,
    timeoutMs: o.requestTimeoutMs,
    logger,
  });
  addRemote = (id, address) => transport.addPeer({ id, address });
  const inFlight = new InFlight();
  const install = (snapshot: Snapshot): Promise<void> => inbox.install(snapshot);
  const unobserved = snapshotFirstPersistence(o.logStore, snapshotTracer?.install(install) ?? install);
  const observed = o.observer === undefined ? unobserved : observedPersistence(unobserved, o.observer);
  const entryTracer = o.tracing === true ? new EntryTracer(self, () => late.driver?.status().role === StateRole.Leader) : undefined;
  const persistence = entryTracer?.persistence(observed) ?? observed;
  const applier = {
    apply: (entries: Parameters<ReplicatedStateMachine['apply']>[0]) => inFlight.track(stateMachine.apply(entries)),
    restore: (snapshot: Parameters<ReplicatedStateMachine['restore']>[0]) => inFlight.track(stateMachine.restore(snapshot)),
    snapshot: () => stateMachine.snapshot(),
  };
  const raftDriver = new RaftDriver({
    node: rawNode,
    persistence: {
      save: (batch) => inFlight.track(persistence.save(batch)),
      compact: (snapshot, compactIndex) => inFlight.track(persistence.compact(snapshot, compactIndex)),
    },
    sender: transport,
    stateMachine: entryTracer?.stateMachine(applier) ?? applier,
    ticker: new IntervalTicker(o.heartbeatIntervalMs),
    maxMergedEntryBytes: MAX_APPEND_BYTES,
    snapshotEvery: o.snapshotCount,
    compactKeep: o.snapshotCatchUpEntries,
    logMemoryBound: { maxBytes: o.maxRaftLogMemoryBytes, log: o.logStore.memory },
    onReadState: (rs) => late.node?.onReadState(rs),
    onFatal: o.onFatal,
    ...(o.observer !== undefined ? { observer: o.observer } : {}),
    onConfChange: ({ confState, change }) => {
      const { added, removed } = o.membership.apply(confState, change);
      for (const m of added) if (m.address !== '') transport.addPeer({ id: m.id, address: m.address });
      for (const id of removed) transport.removePeer(id);
      if (added.length > 0 || removed.length > 0) logger.info({ members: o.membership.list() }, 'membership changed');
      o.onMembershipChanged();
      // A configuration from a snapshot may name members this member never saw added.
      names.check();
    },
    onRemoved: (event) => o.onRemoved(event),
  });
  late.driver = raftDriver;
  const raftNode = new RaftNode<CommandOutcome>(
    raftDriver,
    self,
    { leaderWaitMs: o.electionTimeoutMs * 3, requestMs: o.requestTimeoutMs },
    logger,
    { maxLeases: o.limits.maxLeases, maxKeysPerLease: o.limits.maxKeysPerLease },
    o.observer,
    Date.now,
    proposals.encode,
  );
  late.node = raftNode;
  const lessorLoop = new LessorLoop(lessor, raftNode, LESSOR_TICK_MS, logger);
  const checkpointLeases = (): Promise<void> => lessorLoop.checkpointNow();

  const voteGuard = new RejoinGuard({
    rejoining: o.rejoining,
    self,
    members: cluster.members.map((m) => m.id),
    electionTimeoutMs: o.electionTimeoutMs,
    status: () => raftDriver.status(),
    moveLeader: (target) => {
      logger.warn({ target }, 'rejoining: the leader does not send this member a snapshot; asking to move leadership');
      raftNode
        .moveLeader(target, 2 * o.electionTimeoutMs)
        .catch((err: unknown) => logger.warn({ err, target }, 'could not move leadership'));
    },
    onCaughtUp: o.onCaughtUp,
  });
  const deliverSnapshot = async (message: Message, file: ReceivedSnapshot): Promise<void> => {
    // Read the whole file once before the core hears of it: bad bytes from the peer are
    // refused to the sender (INVALID_ARGUMENT) and change nothing here.
    try {
      await verifySnapshot(readChecksummedFile(file));
    } catch (err) {
      if (!(err instanceof StorageIntegrityError || err instanceof FileChecksumError)) throw err;
      throw new TransportError(TransportErrorCode.MalformedSnapshot, `snapshot from member ${message.from} refused: ${err.message}`);
    }
    const snap = message.snapshot;
    if (snap !== undefined) inbox.stage(snap.index, snap.term, file);
    voteGuard.filter([message]);
    o.observer?.snapshotReceived();
    raftDriver.step(message);
  };
  // A member that hears from no one for a while asks its peers whether it was removed (a
  // removed learner would otherwise wait forever: it never campaigns, so it never sends).
  let lastHeard = Date.now();
  const silence = setInterval(() => {
    if (raftDriver.isStopped || raftDriver.status().role === StateRole.Leader) return;
    if (Date.now() - lastHeard > 3 * o.electionTimeoutMs) transport.probe();
  }, o.electionTimeoutMs);
  silence.unref();
  const peerServer = new PeerServer({
    clusterId: cluster.clusterId,
    self,
    // A removed member that never learned it may still speak; it takes part in nothing (ids are never reused).
    deliver: (messages) => {
      if (messages.length > 0) lastHeard = Date.now();
      raftNode.step(voteGuard.filter(messages.filter((m) => !o.membership.isRemoved(m.from))));
    },
    deliverSnapshot: snapshotTracer?.deliver(deliverSnapshot) ?? deliverSnapshot,
    incomingSnapshotDir: incomingSnapshotDir(o.dataDir),
    maxConcurrentSnapshots: o.maxIncomingSnapshots,
    snapshotDiskReserveBytes: o.snapshotDiskReserveBytes,
    ...(o.peerAuthenticator !== undefined ? { authenticator: o.peerAuthenticator } : {}),
    isRemoved: (id) => o.membership.isRemoved(id),
    onPeerStream: (id) => transport.peerIsUp(id),
    // For the leader's corruption check, asked member to member (works with client auth on).
    hashKeySpace: async (revision) => {
      o.store.checkReadable(revision);
      const hashed = await hashKeySpace(o.store, revision, { maxValueBytes: o.limits.maxValueBytes });
      return { hash: hashed.hash, revision: hashed.revision, compactRevision: o.store.compactedRevision };
    },
    logger,
  });

  return {
    node: raftNode,
    driver: raftDriver,
    peerServer,
    lessor,
    checkpointLeases,
    peerStats: () => transport.stats(),
    start() {
      raftDriver.start();
      names.check();
      lessorLoop.start();
      raftNode.watchLeader(o.heartbeatIntervalMs);
      // Tell the peers this member is up (it is listening by now): a leader backing off from
      // it since it went down reconnects at once, so it hears from the leader within a
      // heartbeat instead of after the backoff or its own election timeout.
      transport.probe();
      // A lone member need not wait out an election timeout to lead.
      const voters = raftDriver.confState().voters;
      if (voters.length === 1 && voters[0] === self) raftDriver.campaign();
    },
    async close() {
      await handOffLeadership(raftDriver, raftNode, cluster, o.electionTimeoutMs, logger, checkpointLeases);
      lessorLoop.stop();
      names.close();
      clearInterval(silence);
      peerServer.closeAll();
      transport.close();
      await raftNode.close();
      // The driver stops at once, but a write it started may still be running; the engine
      // must not close under it.
      await inFlight.settled();
    },
  };
}

/**
 * A leader that stops on purpose first hands leadership to the most up-to-date follower, so
 * the cluster does not sit leaderless for an election timeout. Best effort: shutdown goes
 * on whatever happens.
 */
async function handOffLeadership(
  driver: RaftDriver,
  node: RaftNode<CommandOutcome>,
  cluster: ClusterConfig,
  electionTimeoutMs: number,
  logger: Logger,
  checkpointLeases: () => Promise<void>,
): Promise<void> {
  if (driver.isStopped || driver.confState().voters.length < 2) return;
  const status = driver.status();
  if (status.role !== StateRole.Leader) return;
  let target: number | undefined;
  let best = -1;
  for (const [id, progress] of driver.progress()) {
    if (id !== status.id && !progress.learner && progress.match > best) {
      best = progress.match;
      target = id;
    }
  }
  if (target === undefined) return;
  try {
    // So that the next leader continues each lease from its remaining TTL, not a stale one.
    await checkpointLeases();
    await node.moveLeader(target, electionTimeoutMs);
    logger.info({ to: target }, 'handed leadership over before stopping');
  } catch (err) {
    logger.warn({ err, to: target }, 'could not hand leadership over before stopping');
  }
}
