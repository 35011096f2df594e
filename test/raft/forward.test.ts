import test from 'ava';
import { MessageType } from '../../server/raft/message.js';
import { EntryType } from '../../server/raft/types.js';
import { makeMessage } from '../../server/raft/message.js';
import { enc, TestCluster } from './helpers/cluster.js';

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

/**
 * The transport holds every message's `from` to the member it authenticated, so no member
 * may send a message in another's name: a request is forwarded once, by the member it
 * started on, and a member that is not the leader drops a request another member sent it.
 */
test('every message a member sends names that member as its sender', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.propose(2, 'p');
  t.true(c.node(3).readIndex(new Uint8Array([7])).accepted);
  t.true(c.node(2).transferLeadership(3).accepted);
  c.stabilize();
  t.deepEqual(c.leaders(), [3]);
  const kinds: readonly MessageType[] = [MessageType.Prop, MessageType.ReadIndex, MessageType.TransferLeader];
  const forwarded = c.sent.filter((m) => kinds.includes(m.type));
  t.deepEqual(
    forwarded.map((m) => [m.type, m.from, m.to]).sort(),
    [
      [MessageType.Prop, 2, 1],
      [MessageType.ReadIndex, 3, 1],
      [MessageType.TransferLeader, 2, 1],
    ].sort(),
  );
  t.is(forwarded.find((m) => m.type === MessageType.TransferLeader)!.index, 3, 'the transferee travels in index, not in from');
});

test('a request forwarded to a member that is no longer the leader is dropped there, not forwarded again', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.stabilize();
  const before = c.sent.length;
  // Member 3 still believed 2 led and forwarded to it; 2 knows 1 leads.
  const entries = [{ term: 0, index: 0, type: EntryType.Normal, data: enc('late') }];
  c.node(2).step(makeMessage({ type: MessageType.Prop, from: 3, to: 2, entries }));
  c.node(2).step(makeMessage({ type: MessageType.ReadIndex, from: 3, to: 2, context: new Uint8Array([1]) }));
  c.node(2).step(makeMessage({ type: MessageType.TransferLeader, from: 3, to: 2, index: 3 }));
  c.stabilize();
  t.deepEqual(
    c.sent.slice(before).filter((m) => m.from === 2 && m.to === 1),
    [],
    'member 2 sent nothing on behalf of member 3',
  );
  t.deepEqual(c.appliedData(1), []);
  t.deepEqual(c.leaders(), [1]);
});
