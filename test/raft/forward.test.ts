import test from 'ava';
import { MessageType } from '../../server/raft/message.js';
import { TestCluster } from './helpers/cluster.js';

test('a proposal on a follower is forwarded to the leader and committed everywhere', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  t.true(c.propose(2, 'from-follower').accepted);
  const fwd = c.sent.filter((m) => m.type === MessageType.Prop);
  t.is(fwd.length, 1);
  t.is(fwd[0]!.from, 2);
  t.is(fwd[0]!.to, 1);
  for (const id of c.ids) t.deepEqual(c.appliedData(id), ['from-follower']);
});

test('a proposal with no known leader is dropped with a reason', (t) => {
  const c = new TestCluster([1, 2, 3]);
  t.deepEqual(c.node(2).propose(new Uint8Array([1])), { accepted: false, reason: 'no-leader' });
  t.deepEqual(c.node(2).readIndex(new Uint8Array([1])), { accepted: false, reason: 'no-leader' });
  t.is(c.sent.length, 0);
});

test('a proposal on a candidate is dropped with a reason', (t) => {
  const c = new TestCluster([1, 2, 3], { preVote: false });
  c.isolate(1);
  c.node(1).campaign();
  c.stabilize();
  t.is(c.node(1).status().role, 'candidate');
  t.deepEqual(c.node(1).propose(new Uint8Array([1])), { accepted: false, reason: 'no-leader' });
});
