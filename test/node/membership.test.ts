// The live member set: which ids count as removed for good (their messages are refused and
// they are told to stop), and which do not.
import test from 'ava';
import { Membership } from '../../server/node/membership.js';
import { ConfChangeType } from '../../server/raft/conf-change.js';

const self = { id: 3, name: 'n3', address: '127.0.0.1:3' };
const known = [{ id: 1, name: 'n1', address: '127.0.0.1:1' }, { id: 2, name: 'n2', address: '127.0.0.1:2' }, self];

test('a snapshot taken before a member was added does not make it removed (a joining member gets one)', (t) => {
  const m = new Membership(self, { known, removed: [] }, { voters: [1, 2], learners: [3] });
  // The leader's snapshot predates this member's addition: its configuration lacks it (and n2).
  m.apply({ voters: [1], learners: [] });
  // The entries after the snapshot add them back.
  m.apply({ voters: [1], learners: [2] }, { type: ConfChangeType.AddLearner, nodeId: 2 });
  m.apply({ voters: [1, 2], learners: [3] }, { type: ConfChangeType.AddLearner, nodeId: 3 });
  t.false(m.isRemoved(2));
  t.false(m.isRemoved(3));
  t.deepEqual(m.records().removed, []);
});

test('a RemoveMember change marks the id removed for good; a peer telling this member marks it too', (t) => {
  const m = new Membership(self, { known, removed: [] }, { voters: [1, 2, 3], learners: [] });
  const { removed } = m.apply({ voters: [1, 3], learners: [] }, { type: ConfChangeType.RemoveMember, nodeId: 2 });
  t.deepEqual(removed, [2]);
  t.true(m.isRemoved(2));
  t.false(m.isRemoved(3));
  m.markSelfRemoved();
  t.true(m.isRemoved(3));
  t.deepEqual([...m.records().removed].sort(), [2, 3]);
});
