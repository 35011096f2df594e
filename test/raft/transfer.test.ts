import test from 'ava';
import { MessageType } from '../../server/raft/message.js';
import { TestCluster } from './helpers/cluster.js';

test('leadership transfer to an up-to-date follower happens at once, one term up', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.propose(1, 'x');
  t.true(c.node(1).transferLeadership(3).accepted);
  c.stabilize();
  t.deepEqual(c.leaders(), [3]);
  t.is(c.node(3).status().term, 2);
  t.true(c.sent.some((m) => m.type === MessageType.TimeoutNow && m.from === 1 && m.to === 3));
  c.propose(3, 'y');
  for (const id of c.ids) t.deepEqual(c.appliedData(id), ['x', 'y']);
});

test('transfer to a lagging follower first catches it up; proposals are refused meanwhile', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.isolate(3);
  c.propose(1, 'x');
  c.node(1).transferLeadership(3);
  c.stabilize();
  t.is(c.node(1).status().leadTransferee, 3);
  t.deepEqual(c.node(1).propose(new Uint8Array([1])), { accepted: false, reason: 'leader-transferring' });
  c.heal();
  c.tickAll(2); // heartbeat -> response -> append -> caught up -> MsgTimeoutNow
  t.deepEqual(c.leaders(), [3]);
  t.deepEqual(c.appliedData(3), ['x']);
});

test('an unfinished transfer is abandoned after an election timeout', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.isolate(3);
  c.propose(1, 'x');
  c.node(1).transferLeadership(3);
  c.tickAll(10, [1, 2]);
  t.is(c.node(1).status().leadTransferee, 0);
  t.true(c.node(1).propose(new Uint8Array([1])).accepted);
  t.deepEqual(c.leaders(), [1]);
});

test('a transfer requested on a follower is forwarded to the leader', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  t.true(c.node(2).transferLeadership(2).accepted);
  c.stabilize();
  t.deepEqual(c.leaders(), [2]);
});
