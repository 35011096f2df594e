import test from 'ava';
import { TestCluster } from './helpers/cluster.js';

test('a 3-member cluster elects exactly one leader that all members follow', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.tickAll(25); // > 2 election timeouts: someone's randomized timeout must have fired
  const leaders = c.leaders();
  t.is(leaders.length, 1);
  const lead = leaders[0]!;
  const term = c.node(lead).status().term;
  for (const id of c.ids) {
    const st = c.node(id).status();
    t.is(st.lead, lead, `member ${id} follows the leader`);
    t.is(st.term, term, `member ${id} is in the leader's term`);
    // The leader's no-op of its term is committed and applied everywhere.
    t.is(st.commit, 1);
    t.deepEqual(
      c.m(id).applied.map((e) => [e.index, e.term, e.data.byteLength]),
      [[1, term, 0]],
    );
  }
});

test('pre-vote: a campaign that wins its pre-vote moves to a real election exactly one term up', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  t.deepEqual(c.leaders(), [1]);
  t.is(c.node(1).status().term, 1);
  t.is(c.node(2).status().vote, 1);
});

test('a single-member cluster elects itself and commits only after persisting', (t) => {
  const c = new TestCluster([1]);
  c.node(1).campaign();
  const rd = c.node(1).ready();
  t.is(rd.softState?.role, 'leader');
  t.is(rd.entries.length, 1, 'the no-op is handed out for persistence');
  t.is(rd.hardState?.commit, 0, 'not committed before the leader persisted it');
  c.m(1).storage.append(rd.entries);
  c.node(1).advance(rd);
  t.is(c.node(1).status().commit, 1, 'committed once advance() reports it durable');
});

test('split votes are resolved by randomized election timeouts', (t) => {
  // 4 voters: 1 and 2 campaign at once, 3 hears only 1 and 4 hears only 2 -> 2 votes each,
  // no majority in term 1.
  for (let seed = 1; seed <= 30; seed++) {
    const c = new TestCluster([1, 2, 3, 4], { preVote: false, seed });
    c.partition([1], [4]);
    c.partition([2], [3]);
    c.node(1).campaign();
    c.node(2).campaign();
    c.stabilize();
    t.deepEqual(c.leaders(), [], `seed ${seed}: no leader after a split vote`);
    t.is(c.node(1).status().role, 'candidate');
    t.is(c.node(2).status().role, 'candidate');
    c.heal();
    // Randomized timeouts in [10, 20) ticks make one candidate time out first and win.
    let rounds = 0;
    while (c.leaders().length === 0 && rounds < 60) {
      c.tickAll(1);
      rounds++;
    }
    t.is(c.leaders().length, 1, `seed ${seed}: exactly one leader after the split`);
    t.true(rounds <= 40, `seed ${seed}: resolved within a bounded number of ticks (${rounds})`);
    const lead = c.leaders()[0]!;
    t.true(c.node(lead).status().term >= 2);
    for (const id of c.ids) t.is(c.node(id).status().lead, lead);
  }
});

test('a partitioned leader steps down after healing and its uncommitted entries never commit', (t) => {
  const c = new TestCluster([1, 2, 3, 4, 5]);
  c.campaign(1);
  c.propose(1, 'before');
  c.isolate(1);
  t.true(c.propose(1, 'lost-on-old-leader').accepted, 'the isolated leader still appends locally');
  t.is(c.node(1).status().commit, 2, 'but cannot commit it');
  // The majority's leases expire, it elects a new leader and commits.
  const majority = [2, 3, 4, 5];
  c.tickAll(30, majority);
  const newLeaders = c.leaders().filter((id) => id !== 1);
  t.is(newLeaders.length, 1);
  const lead = newLeaders[0]!;
  t.true(c.node(lead).status().term > c.node(1).status().term);
  c.propose(lead, 'after');
  t.deepEqual(c.appliedData(lead), ['before', 'after']);
  c.heal();
  c.tickAll(3);
  t.deepEqual(c.leaders(), [lead], 'the old leader stepped down; one leader remains');
  t.is(c.node(1).status().role, 'follower');
  t.is(c.node(1).status().lead, lead);
  for (const id of c.ids) {
    t.deepEqual(c.appliedData(id), ['before', 'after'], `member ${id} applied the same sequence`);
    t.deepEqual(
      c
        .node(id)
        .logEntries()
        .map((e) => [e.index, e.term]),
      c
        .node(lead)
        .logEntries()
        .map((e) => [e.index, e.term]),
      `member ${id} has the leader's log`,
    );
  }
});

test('a restarted member keeps its term, vote and commit from storage', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.propose(1, 'x');
  const before = c.node(2).status();
  c.restart(2);
  const after = c.node(2).status();
  t.is(after.term, before.term);
  t.is(after.vote, 1);
  t.is(after.commit, before.commit);
  t.is(after.role, 'follower');
  c.tickAll(2);
  c.propose(1, 'y');
  t.deepEqual(c.appliedData(2), ['x', 'y'], 'replays from storage and keeps applying');
});
