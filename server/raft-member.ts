import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Applier, type HeaderFactory } from './apply/applier.js';
import type { AuthStore } from './apply/auth/auth-store.js';
import type { CommandOutcome } from './apply/outcome.js';
import { ReplicatedStateMachine } from './apply/replicated-state-machine.js';
import { SnapshotInbox } from './apply/snapshot-inbox.js';
import type { MvccStore } from './mvcc/kv-store.js';
import { exportSnapshot } from './mvcc/snapshot.js';
import type { WatchHub } from './mvcc/watch-hub.js';
import type { RandomSource } from './raft/random.js';
import { RawNode } from './raft/raw-node.js';
import { StateRole } from './raft/types.js';
import type { StorageEngine } from './storage/engine.js';
import type { RaftLogStore } from './storage/raft-log-store.js';
import type { PeerAuthenticator } from './transport/peer-authenticator.js';
import { PeerServer } from './transport/peer-server.js';
import { PeerTransport } from './transport/peer-transport.js';
import type { ClusterConfig } from './node/cluster-config.js';
import { InFlight } from './node/in-flight.js';
import { IntervalTicker } from './node/interval-ticker.js';
import { RaftDriver } from './node/raft-driver.js';
import { RaftNode } from './node/raft-node.js';
import { snapshotFirstPersistence } from './node/snapshot-first-persistence.js';
import { invariant } from './invariant.js';

export interface RaftMemberOptions {
  cluster: ClusterConfig;
  engine: StorageEngine;
  store: MvccStore;
  logStore: RaftLogStore;
  hub: WatchHub;
  auth: AuthStore;
  header: HeaderFactory;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  requestTimeoutMs: number;
  snapshotCount: number;
  snapshotCatchUpEntries: number;
  logger: Logger;
  onFatal: (err: unknown) => void;
  /** What this member presents and trusts when dialing peers (default: plaintext). */
  peerCredentials?: ChannelCredentials;
  /** Who may speak for which member on the peer service (default: anyone; plaintext only). */
  peerAuthenticator?: PeerAuthenticator;
}

export interface RaftMember {
  readonly node: RaftNode<CommandOutcome>;
  readonly driver: RaftDriver;
  readonly peerServer: PeerServer;
  start(): void;
  close(): Promise<void>;
}

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
    voters: cluster.members.map((m) => m.id),
    storage,
    random: mathRandom,
    heartbeatTick: 1,
    electionTick: Math.max(2, Math.round(o.electionTimeoutMs / o.heartbeatIntervalMs)),
    // Entries the store already holds are not handed out again (it would skip them anyway).
    applied: Math.max(firstApplicable, Math.min(o.store.consistentIndex, hardState.commit)),
    // Appends stay well under the peer service's message cap (see grpc-server.ts).
    maxSizePerMsg: 1024 * 1024,
  });

  const inbox = new SnapshotInbox(o.engine, o.store, o.hub, o.auth, logger);
  // The state machine, the transport and the driver refer to each other; late binding
  // through these closures breaks the construction cycle.
  const late: { node?: RaftNode<CommandOutcome>; driver?: RaftDriver } = {};
  const stateMachine = new ReplicatedStateMachine(
    o.store,
    new Applier(o.header, o.auth),
    self,
    (id, outcome) => late.node?.onOutcome(id, outcome),
    inbox,
  );
  const transport = new PeerTransport({
    clusterId: cluster.clusterId,
    self,
    peers: cluster.members.filter((m) => m.id !== self).map((m) => ({ id: m.id, address: m.address })),
    reporter: {
      reportUnreachable: (id) => late.driver?.reportUnreachable(id),
      reportSnapshot: (id, failed) => late.driver?.reportSnapshot(id, failed),
    },
    snapshotSource: () => exportSnapshot(o.engine),
    ...(o.peerCredentials !== undefined ? { credentials: o.peerCredentials } : {}),
    logger,
  });
  const inFlight = new InFlight();
  const persistence = snapshotFirstPersistence(o.logStore, (snapshot) => inbox.install(snapshot));
  const raftDriver = new RaftDriver({
    node: rawNode,
    persistence: {
      save: (batch) => inFlight.track(persistence.save(batch)),
      compact: (snapshot, compactIndex) => inFlight.track(persistence.compact(snapshot, compactIndex)),
    },
    sender: transport,
    stateMachine: {
      apply: (entries) => inFlight.track(stateMachine.apply(entries)),
      restore: (snapshot) => inFlight.track(stateMachine.restore(snapshot)),
      snapshot: () => stateMachine.snapshot(),
    },
    ticker: new IntervalTicker(o.heartbeatIntervalMs),
    snapshotEvery: o.snapshotCount,
    compactKeep: o.snapshotCatchUpEntries,
    onReadState: (rs) => late.node?.onReadState(rs),
    onFatal: o.onFatal,
  });
  late.driver = raftDriver;
  const raftNode = new RaftNode<CommandOutcome>(
    raftDriver,
    self,
    { leaderWaitMs: o.electionTimeoutMs * 3, requestMs: o.requestTimeoutMs },
    logger,
  );
  late.node = raftNode;

  const peerServer = new PeerServer({
    clusterId: cluster.clusterId,
    self,
    deliver: (messages) => raftNode.step(messages),
    deliverSnapshot: (message, data) => {
      const snap = message.snapshot;
      if (snap !== undefined) inbox.stage(snap.index, snap.term, data);
      raftDriver.step(message);
      return Promise.resolve();
    },
    ...(o.peerAuthenticator !== undefined ? { authenticator: o.peerAuthenticator } : {}),
    logger,
  });

  return {
    node: raftNode,
    driver: raftDriver,
    peerServer,
    start() {
      raftDriver.start();
      raftNode.watchLeader(o.heartbeatIntervalMs);
      // A lone member need not wait out an election timeout to lead.
      if (cluster.members.length === 1) raftDriver.campaign();
    },
    async close() {
      await handOffLeadership(raftDriver, raftNode, cluster, o.electionTimeoutMs, logger);
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
): Promise<void> {
  if (cluster.members.length < 2 || driver.isStopped) return;
  const status = driver.status();
  if (status.role !== StateRole.Leader) return;
  let target: number | undefined;
  let best = -1;
  for (const [id, progress] of driver.progress()) {
    if (id !== status.id && progress.match > best) {
      best = progress.match;
      target = id;
    }
  }
  if (target === undefined) return;
  try {
    await node.moveLeader(target, electionTimeoutMs);
    logger.info({ to: target }, 'handed leadership over before stopping');
  } catch (err) {
    logger.warn({ err, to: target }, 'could not hand leadership over before stopping');
  }
}
