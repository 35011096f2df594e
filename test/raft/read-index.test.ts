import test from 'ava';
import { MessageType } from '../../server/raft/message.js';
import { TestCluster, dec, enc } from './helpers/cluster.js';

test('ReadIndex: several reads on the leader share one heartbeat round', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.propose(1, 'x');
  const commit = c.node(1).status().commit;
  const sentBefore = c.sent.length;
  for (const ctx of ['a', 'b', 'c']) t.true(c.node(1).readIndex(enc(ctx)).accepted);
  c.flush();
  const round = c.sent.slice(sentBefore);
  t.deepEqual(
    round.map((m) => [m.type, m.to, m.context === undefined ? '' : dec(m.context)]),
    [
      [MessageType.Heartbeat, 2, 'c'],
      [MessageType.Heartbeat, 3, 'c'],
    ],
    'one heartbeat per follower, carrying the newest request',
  );
  t.deepEqual(c.m(1).readStates, [], 'nothing is served before a quorum confirmed leadership');
  c.stabilize();
  t.deepEqual(
    c.m(1).readStates.map((rs) => [dec(rs.context), rs.index]),
    [
      ['a', commit],
      ['b', commit],
      ['c', commit],
    ],
  );
  t.is(c.sent.slice(sentBefore).filter((m) => m.type === MessageType.Heartbeat).length, 2, 'no extra rounds');
});

test('ReadIndex: a read arriving after a round started waits for the next round', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.node(1).readIndex(enc('first'));
  c.flush(); // round 1 is on the wire
  c.deliverOnce(); // round 1 heartbeats delivered, responses on the wire
  c.node(1).readIndex(enc('second')); // arrives after the followers answered round 1
  c.deliverOnce(); // round 1 responses delivered: they confirm 'first' only
  t.deepEqual(
    c.m(1).readStates.map((rs) => dec(rs.context)),
    ['first'],
  );
  c.stabilize();
  t.deepEqual(
    c.m(1).readStates.map((rs) => dec(rs.context)),
    ['first', 'second'],
  );
});

test('ReadIndex: a read on a follower is confirmed through the leader', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.propose(1, 'x');
  t.true(c.node(3).readIndex(enc('f')).accepted);
  c.stabilize();
  t.deepEqual(
    c.m(3).readStates.map((rs) => [dec(rs.context), rs.index]),
    [['f', c.node(1).status().commit]],
  );
  t.deepEqual(c.m(1).readStates, []);
});

test('ReadIndex: a new leader serves no read before committing an entry of its term', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.propose(1, 'x');
  // Member 2 becomes leader of term 2, but its no-op does not reach anyone yet.
  let holdAppends = true;
  c.intercept = (m) => (holdAppends && m.from === 2 && m.type === MessageType.App ? null : m);
  c.node(1).transferLeadership(2);
  c.stabilize();
  t.deepEqual(c.leaders(), [2]);
  const st = c.node(2).status();
  t.is(st.commit, 2, 'commit still from the previous term');
  const sentBefore = c.sent.length;
  t.true(c.node(2).readIndex(enc('r')).accepted, 'accepted but postponed');
  c.stabilize();
  t.deepEqual(c.m(2).readStates, [], 'not served: the commit index may be stale');
  t.false(
    c.sent.slice(sentBefore).some((m) => m.type === MessageType.Heartbeat && m.context !== undefined),
    'no read round started',
  );
  t.is(c.node(2).pendingReadCount(), 1);
  holdAppends = false;
  c.tickAll(2);
  t.is(c.node(2).status().commit, 3, 'the no-op committed');
  t.deepEqual(
    c.m(2).readStates.map((rs) => [dec(rs.context), rs.index]),
    [['r', 3]],
  );
});

test('ReadIndex: a leader cut off from the majority never serves the read', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.isolate(1);
  c.node(1).readIndex(enc('stale?'));
  c.tickAll(9, [1]); // still within its election timeout: it believes it leads
  t.is(c.node(1).status().role, 'leader');
  t.deepEqual(c.m(1).readStates, []);
  c.tickAll(5, [1]);
  t.is(c.node(1).status().role, 'follower', 'check-quorum made it step down');
  t.is(c.node(1).pendingReadCount(), 0, 'pending reads were abandoned, never answered');
  t.deepEqual(c.m(1).readStates, []);
});

test('ReadIndex: a single-member cluster answers without a round', (t) => {
  const c = new TestCluster([1]);
  c.campaign(1);
  c.node(1).readIndex(enc('solo'));
  c.flush();
  t.deepEqual(
    c.m(1).readStates.map((rs) => [dec(rs.context), rs.index]),
    [['solo', 1]],
  );
});

test('ReadIndex: a single-member cluster serves a read issued before its first commit once the no-op is written', (t) => {
  // Regression: the leader released postponed reads only when a follower's ack committed, so
  // on a one-member cluster (plain `cairn serve`) a read between the election and the first
  // write waited forever (the client's request timeout). No ticks needed.
  const c = new TestCluster([1]);
  c.node(1).campaign();
  t.true(c.node(1).readIndex(enc('early')).accepted);
  c.flush();
  t.is(c.node(1).status().commit, 1);
  t.deepEqual(
    c.m(1).readStates.map((rs) => [dec(rs.context), rs.index]),
    [['early', 1]],
  );
  t.is(c.node(1).pendingReadCount(), 0);
});

test('ReadIndex: a read arriving while a one-member leader writes its no-op is served when the write completes', (t) => {
  const c = new TestCluster([1]);
  c.holdWrite(1);
  c.node(1).campaign();
  c.flush(); // the no-op's write is in flight
  t.is(c.node(1).status().role, 'leader');
  t.true(c.node(1).readIndex(enc('during-fsync')).accepted);
  c.flush();
  t.is(c.node(1).status().commit, 0);
  t.deepEqual(c.m(1).readStates, [], 'postponed: nothing of this term is committed yet');
  t.is(c.node(1).pendingReadCount(), 1);
  c.persist(1);
  t.is(c.node(1).status().commit, 1);
  t.deepEqual(
    c.m(1).readStates.map((rs) => [dec(rs.context), rs.index]),
    [['during-fsync', 1]],
  );
  t.is(c.node(1).pendingReadCount(), 0);
});

test('ReadIndex: when the leader’s own write completes the quorum for its no-op, postponed reads are released', (t) => {
  // One commit path: the leader's ack of its own write is a MsgAppResp like a follower's.
  const c = new TestCluster([1, 2, 3]);
  c.isolate(3);
  c.node(1).campaign();
  while (c.node(1).status().role !== 'candidate') c.deliverOnce();
  c.holdWrite(1); // the new leader's no-op will be slow to reach its disk
  while (c.node(1).status().role !== 'leader') c.deliverOnce();
  t.true(c.node(1).readIndex(enc('r')).accepted);
  c.stabilize(); // member 2 acks the no-op; 1 + 2 are a quorum only once 1's write is done
  t.is(c.node(1).status().commit, 0);
  t.is(c.node(1).pendingReadCount(), 1);
  c.persist(1);
  t.is(c.node(1).status().commit, 1, 'committed by the leader’s own ack');
  c.stabilize();
  t.deepEqual(
    c.m(1).readStates.map((rs) => [dec(rs.context), rs.index]),
    [['r', 1]],
  );
  t.is(c.node(1).pendingReadCount(), 0);
});
