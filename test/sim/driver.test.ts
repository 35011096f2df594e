import test from 'ava';
import type { PeerSender } from '../../server/node/ports/peer-sender.js';
import type { PersistBatch, RaftLogPersistence } from '../../server/node/ports/raft-log-persistence.js';
import type { StateMachine } from '../../server/node/ports/state-machine.js';
import type { Ticker } from '../../server/node/ports/ticker.js';
import type { ConfigChangeEvent } from '../../server/node/raft-driver.js';
import { RaftDriver } from '../../server/node/raft-driver.js';
import { ConfChangeType } from '../../server/raft/conf-change.js';
import { MemoryRaftStorage } from '../../server/raft/memory-storage.js';
import type { Message } from '../../server/raft/message.js';
import { MessageType } from '../../server/raft/message.js';
import { RawNode } from '../../server/raft/raw-node.js';
import type { Entry, ReadState, Snapshot } from '../../server/raft/types.js';
import { Prng } from './prng.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
import { SyncCompletion } from './sim-disk.js';

/** A disk whose writes complete only when the test says so; records the order of effects. */
class ManualHarness implements RaftLogPersistence, PeerSender, StateMachine, Ticker {
  readonly storage: MemoryRaftStorage;
  readonly events: string[] = [];
  readonly pending: { batch: PersistBatch; done: SyncCompletion }[] = [];
  readonly sent: Message[] = [];
  readonly applied: Entry[] = [];
  onTick: (() => void) | undefined;

  constructor(voters: readonly number[] = [1, 2, 3]) {
    this.storage = new MemoryRaftStorage(voters);
  }

  /** Completes every outstanding write, including those the completions trigger. */
  syncAll(): void {
    while (this.pending.length > 0) this.sync();
  }

  save(batch: PersistBatch): PromiseLike<void> {
    const done = new SyncCompletion();
    this.events.push(
      `save(${batch.entries.map((e) => e.index).join(',')}${batch.hardState ? ` hs.term=${batch.hardState.term} vote=${batch.hardState.vote}` : ''})`,
    );
    this.pending.push({ batch, done });
    return done;
  }

  /** Completes the oldest outstanding write (making it visible to the core's storage). */
  sync(ok = true): void {
    const p = this.pending.shift();
    if (p === undefined) throw new Error('nothing to sync');
    if (!ok) {
      p.done.fail(new Error('EIO: fsync failed'));
      return;
    }
    if (p.batch.snapshot) this.storage.applySnapshot(p.batch.snapshot);
    this.storage.append(p.batch.entries);
    if (p.batch.hardState) this.storage.setHardState(p.batch.hardState);
    this.events.push('synced');
    p.done.succeed();
  }

  compact(): PromiseLike<void> {
    throw new Error('not used');
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      this.sent.push(m);
      this.events.push(`send ${m.type}->${m.to}`);
    }
  }

  apply(entries: readonly Entry[]): void {
    this.applied.push(...entries);
    this.events.push(`apply(${entries.map((e) => e.index).join(',')})`);
  }

  restore(_s: Snapshot): void {
    this.events.push('restore');
  }

  start(onTick: () => void): void {
    this.onTick = onTick;
  }

  stop(): void {
    this.onTick = undefined;
  }
}

function setup(): { h: ManualHarness; d: RaftDriver; reads: ReadState[]; fatal: unknown[] } {
  const h = new ManualHarness();
  const node = new RawNode({ id: 1, storage: h.storage, random: new Prng(1), electionTick: 10, heartbeatTick: 1 });
  const reads: ReadState[] = [];
  const fatal: unknown[] = [];
  const d = new RaftDriver({
    node,
    persistence: h,
    sender: h,
    stateMachine: h,
    ticker: h,
    onReadState: (rs) => reads.push(rs),
    onFatal: (e) => fatal.push(e),
  });
  d.start();
  return { h, d, reads, fatal };
}

const resp = (type: Message['type'], from: number, term: number, extra: Partial<Message> = {}): Message => ({
  type,
  from,
  to: 1,
  term,
  logTerm: 0,
  index: 0,
  entries: [],
  commit: 0,
  reject: false,
  rejectHint: 0,
  ...extra,
});

test('driver: vote requests leave only after the candidate term and vote are synced', (t) => {
  const { h, d } = setup();
  d.campaign();
  // A pre-vote changes no durable state: nothing to persist, the requests leave at once.
  t.deepEqual(h.pending, []);
  t.deepEqual(
    h.sent.map((m) => [m.type, m.to, m.term]),
    [
      [MessageType.PreVote, 2, 1],
      [MessageType.PreVote, 3, 1],
    ],
  );
  h.sent.length = 0;
  d.step(resp(MessageType.PreVoteResp, 2, 1));
  t.is(d.status().role, 'candidate');
  t.deepEqual(h.sent, [], 'no MsgVote while term 1 / vote for self is not durable');
  t.deepEqual(h.events.slice(-1), ['save( hs.term=1 vote=1)']);
  h.sync();
  t.deepEqual(
    h.sent.map((m) => [m.type, m.to, m.term]),
    [
      [MessageType.Vote, 2, 1],
      [MessageType.Vote, 3, 1],
    ],
  );
});

test('driver: persist, then send, then apply, then advance — a follower acks only durable entries', (t) => {
  const { h, d } = setup();
  // Become a follower of 2 in term 1 and receive two entries.
  d.step(
    resp(MessageType.App, 2, 1, {
      index: 0,
      logTerm: 0,
      commit: 1,
      entries: [
        { index: 1, term: 1, type: 'normal', data: new Uint8Array([1]) },
        { index: 2, term: 1, type: 'normal', data: new Uint8Array([2]) },
      ],
    }),
  );
  t.deepEqual(h.sent, [], 'no ack before the synced write');
  t.deepEqual(h.applied, [], 'nothing applied before the synced write');
  // While the write is in flight, more input arrives; it must wait for the next Ready.
  d.step(resp(MessageType.Heartbeat, 2, 1, { commit: 2 }));
  t.deepEqual(h.sent, []);
  h.sync();
  t.deepEqual(h.events.slice(0, 4), ['save(1,2 hs.term=1 vote=0)', 'synced', 'send MsgAppResp->2', 'apply(1)']);
  // The heartbeat's commit (2) arrived during the first write: handled by the next Ready.
  t.is(h.pending.length, 1, 'a second write (commit=2) follows');
  h.sync();
  t.deepEqual(
    h.applied.map((e) => e.index),
    [1, 2],
  );
  t.is(h.sent[h.sent.length - 1]!.type, MessageType.HeartbeatResp);
});

test('driver: a leader counts itself towards commit only after its own write synced', (t) => {
  const { h, d } = setup();
  d.campaign();
  d.step(resp(MessageType.PreVoteResp, 2, 1));
  h.sync(); // candidate hard state (term 1, vote 1)
  d.step(resp(MessageType.VoteResp, 2, 1));
  t.is(d.status().role, 'leader');
  // The no-op (index 1) is being persisted; follower 2 acks it (it may receive it early).
  h.sent.length = 0;
  d.step(resp(MessageType.AppResp, 2, 1, { index: 1 }));
  t.is(d.status().commit, 0, 'one follower ack + an unsynced leader write is not a quorum');
  h.sync();
  t.is(d.status().commit, 1, 'committed once the leader write is durable');
  h.sync(); // commit index
  t.deepEqual(
    h.applied.map((e) => e.index),
    [1],
  );
});

test("driver: a leader's appends leave while its own write is pending; a new term's messages wait for theirs", (t) => {
  const { h, d } = setup();
  d.campaign();
  d.step(resp(MessageType.PreVoteResp, 2, 1));
  t.false(
    h.sent.some((m) => m.type === MessageType.Vote),
    'the vote request of an unsynced term waits',
  );
  h.sync(); // candidate hard state (term 1, vote 1)
  d.step(resp(MessageType.VoteResp, 2, 1));
  t.is(d.status().role, 'leader');
  t.true(
    h.sent.some((m) => m.type === MessageType.App && m.term === 1),
    "the no-op's append left before the leader's write of it completed",
  );
  t.is(h.pending.length, 1, "the leader's write is still pending");
  h.sync();
  h.sent.length = 0;
  d.step(resp(MessageType.AppResp, 2, 1, { index: 1 }));
  h.sync();
  t.true(d.propose(new TextEncoder().encode('x')).accepted);
  t.true(
    h.sent.some((m) => m.type === MessageType.App && m.entries.some((e) => e.index === 2)),
    'a proposal is replicated before the leader wrote it',
  );
  t.is(d.status().commit, 1, 'and is not committed by the follower alone');
});

test('driver: linearizable reads are released only after the state machine applied the read index', (t) => {
  const { h, d, reads } = setup();
  d.campaign();
  d.step(resp(MessageType.PreVoteResp, 2, 1));
  h.sync();
  d.step(resp(MessageType.VoteResp, 2, 1));
  h.sync(); // no-op persisted
  d.step(resp(MessageType.AppResp, 2, 1, { index: 1 })); // no-op committed (commit=1)
  t.true(d.readIndex(new TextEncoder().encode('q')).accepted);
  const hb = h.sent.filter((m) => m.type === MessageType.Heartbeat && m.context !== undefined);
  t.is(hb.length, 0, 'the read round waits for the pending commit write');
  h.sync(); // hard state commit=1; then no-op applied, read round sent
  const round = h.sent.filter((m) => m.type === MessageType.Heartbeat && m.context !== undefined);
  t.is(round.length, 2);
  d.step(resp(MessageType.HeartbeatResp, 2, 1, { context: round[0]!.context! }));
  t.is(reads.length, 1);
  t.is(reads[0]!.index, 1);
  t.true(
    h.applied.some((e) => e.index === 1),
    'applied before the read was released',
  );
});

test('driver: an fsync failure is fatal — the node stops and sends nothing', (t) => {
  const { h, d, fatal } = setup();
  d.campaign();
  d.step(resp(MessageType.PreVoteResp, 2, 1));
  h.sent.length = 0;
  h.sync(false); // the candidate's hard state cannot be made durable
  t.is(fatal.length, 1);
  t.regex(String(fatal[0]), /fsync failed/);
  t.true(d.isStopped);
  t.deepEqual(h.sent, []);
  t.deepEqual(d.propose(new Uint8Array([1])), { accepted: false, reason: 'stopped' });
  t.is(h.onTick, undefined, 'ticker stopped');
});

test('driver: a conf change is proposed, applied in order and reported; a removed leader hands over, stops and says so', async (t) => {
  const h = new ManualHarness([1, 2, 3]);
  const node = new RawNode({ id: 1, storage: h.storage, random: new Prng(1), electionTick: 10, heartbeatTick: 1 });
  const changes: ConfigChangeEvent[] = [];
  const removed: unknown[] = [];
  const d = new RaftDriver({
    node,
    persistence: h,
    sender: h,
    stateMachine: h,
    ticker: h,
    onConfChange: (ev) => changes.push(ev),
    onRemoved: (ev) => removed.push(ev),
  });
  d.start();
  d.campaign();
  d.step(resp(MessageType.PreVoteResp, 2, 1));
  h.syncAll();
  d.step(resp(MessageType.VoteResp, 2, 1));
  h.syncAll();
  t.is(d.status().role, 'leader');
  // Member 2 acknowledges everything the leader has: with the leader, a quorum of 3.
  const ack = (): void => {
    d.step(resp(MessageType.AppResp, 2, d.status().term, { index: d.status().lastIndex }));
    h.syncAll();
  };
  ack();

  const add = d.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 4, context: enc('n4') });
  if (!add.accepted) return t.fail(`refused: ${add.reason}`);
  const second = d.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 5 });
  t.like(second, { accepted: false, reason: 'conf-change-pending' });
  h.syncAll();
  ack();
  const applied = await add.applied;
  t.deepEqual(applied.confState, { voters: [1, 2, 3], learners: [4] });
  t.deepEqual(applied.change.context, enc('n4'), 'the context travels with the change');
  t.deepEqual(
    changes.map((c) => [c.index, c.change?.type, c.confState]),
    [[add.index, 'add-learner', { voters: [1, 2, 3], learners: [4] }]],
  );
  t.deepEqual(d.confState(), { voters: [1, 2, 3], learners: [4] });
  t.like(d.progress().get(4), { learner: true, match: 0 });

  const rm = d.proposeConfChange({ type: ConfChangeType.RemoveMember, nodeId: 1 });
  if (!rm.accepted) return t.fail(`refused: ${rm.reason}`);
  h.syncAll();
  t.deepEqual(removed, [], 'not removed before the change commits');
  t.false(d.isStopped);
  ack();
  t.deepEqual((await rm.applied).confState, { voters: [2, 3], learners: [4] });
  t.true(d.isStopped);
  t.deepEqual(removed, [{ index: rm.index, confState: { voters: [2, 3], learners: [4] } }]);
  t.true(
    h.sent.some((m) => m.type === MessageType.TimeoutNow && m.to === 2),
    'the hand-over to the up-to-date voter left before the driver stopped',
  );
  t.like(d.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 5 }), { accepted: false, reason: 'stopped' });
});
