import test from 'ava';
import { MessageType } from '../../server/raft/message.js';
import { TestCluster } from './helpers/cluster.js';

function isolateAndRejoin(c: TestCluster, writes: boolean): { termBefore: number } {
  c.campaign(1);
  c.propose(1, 'x');
  const termBefore = c.node(1).status().term;
  c.isolate(3);
  // Many election timeouts pass on the isolated member while the rest keeps working.
  for (let i = 0; i < 100; i++) {
    c.node(3).tick();
    c.tickAll(1, [1, 2]);
    if (writes && i % 10 === 0) c.propose(1, `w${i}`);
  }
  c.heal();
  c.tickAll(5);
  return { termBefore };
}

test('pre-vote: a member rejoining after a partition does not depose a healthy leader', (t) => {
  const c = new TestCluster([1, 2, 3]);
  const sentBefore = c.sent.length;
  const { termBefore } = isolateAndRejoin(c, true);
  t.true(
    c.sent.slice(sentBefore).some((m) => m.type === MessageType.PreVote && m.from === 3),
    'the isolated member did try to pre-campaign',
  );
  t.false(
    c.sent.some((m) => m.type === MessageType.Vote && m.from === 3),
    'it never started a real election',
  );
  t.deepEqual(c.leaders(), [1]);
  for (const id of c.ids) t.is(c.node(id).status().term, termBefore, `member ${id} term unchanged`);
  t.deepEqual(c.appliedData(3), c.appliedData(1), 'the rejoined member caught up');
  t.is(c.appliedData(1).length, 11);
});

test('pre-vote + leader lease: a rejoining member with an up-to-date log is still refused', (t) => {
  // No writes during the partition: the rejoining member's log is as good as anyone's, so
  // only the followers' lease (they heard from the leader recently) protects the leader.
  const c = new TestCluster([1, 2, 3]);
  const { termBefore } = isolateAndRejoin(c, false);
  t.deepEqual(c.leaders(), [1]);
  for (const id of c.ids) t.is(c.node(id).status().term, termBefore);
});

test('without pre-vote and check-quorum, the same rejoin disrupts the leader (control)', (t) => {
  const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
  const { termBefore } = isolateAndRejoin(c, true);
  t.true(c.node(1).status().term > termBefore, 'the term was driven up by the rejoining member');
});
