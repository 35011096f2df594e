import test from 'ava';
import { TestCluster } from './helpers/cluster.js';

const ELECTION = 10;

test('check-quorum: a leader in the minority steps down within an election timeout', (t) => {
  const c = new TestCluster([1, 2, 3, 4, 5], { electionTick: ELECTION });
  c.campaign(1);
  c.tickAll(3);
  c.partition([1, 2], [3, 4, 5]);
  let steppedDownAfter = -1;
  for (let tick = 1; tick <= ELECTION + 1; tick++) {
    c.tickAll(1, [1, 2]);
    if (c.node(1).status().role !== 'leader') {
      steppedDownAfter = tick;
      break;
    }
  }
  t.true(steppedDownAfter > 0, 'the minority leader stepped down');
  t.true(steppedDownAfter <= ELECTION, `within one election timeout (after ${steppedDownAfter} ticks)`);
  t.true(steppedDownAfter >= ELECTION - 1, 'but not before the quorum was silent for a timeout');
  t.is(c.node(1).status().lead, 0);
  // It stepped down without bumping its term (no disruption), and cannot get elected again.
  const term = c.node(1).status().term;
  c.tickAll(50, [1, 2]);
  t.deepEqual(
    c.leaders().filter((id) => id <= 2),
    [],
  );
  t.is(c.node(1).status().term, term, 'pre-vote keeps the minority from inflating terms');
});

test('check-quorum: a leader that hears from a quorum stays leader indefinitely', (t) => {
  const c = new TestCluster([1, 2, 3, 4, 5], { electionTick: ELECTION });
  c.campaign(1);
  c.partition([1, 2, 3], [4, 5]); // leader keeps a majority {1,2,3}
  c.tickAll(10 * ELECTION, [1, 2, 3]);
  t.is(c.node(1).status().role, 'leader');
  t.is(c.node(1).status().term, 1);
});

test('check-quorum: the majority side elects a new leader and the old one follows after healing', (t) => {
  const c = new TestCluster([1, 2, 3, 4, 5], { electionTick: ELECTION });
  c.campaign(1);
  c.partition([1, 2], [3, 4, 5]);
  c.tickAll(4 * ELECTION);
  const leaders = c.leaders();
  t.is(leaders.length, 1);
  t.true([3, 4, 5].includes(leaders[0]!));
  c.heal();
  c.tickAll(3);
  t.deepEqual(c.leaders(), leaders);
  for (const id of c.ids) t.is(c.node(id).status().lead, leaders[0]!);
});
