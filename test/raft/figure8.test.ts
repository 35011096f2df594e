import test from 'ava';
import type { Message } from '../../server/raft/message.js';
import { MessageType } from '../../server/raft/message.js';
import { TestCluster } from './helpers/cluster.js';

/** Removes entries at index >= `from` from MsgApp sent by `leader` (they "don't arrive"). */
function stripEntriesFrom(leader: number, from: number) {
  return (m: Message): Message | null =>
    m.type === MessageType.App && m.from === leader ? { ...m, entries: m.entries.filter((e) => e.index < from) } : m;
}

function electUntilLeader(c: TestCluster, id: number): void {
  for (let i = 0; i < 5 && c.node(id).status().role !== 'leader'; i++) c.campaign(id);
  if (c.node(id).status().role !== 'leader') throw new Error(`${id} could not be elected`);
}

/**
 * Figure 8 of the Raft paper. Prefix (a)-(c): S1 leads term 1 and replicates "a" at index 2
 * to S2 only; S5 wins term 2 without it and appends its own index-2 entry (its no-op), which
 * nobody receives; S1 comes back, wins a later term, and copies its old-term entry to a
 * majority while its own current-term entry reaches nobody.
 */
function figure8Prefix(t: { is: (a: unknown, b: unknown, m?: string) => void }): TestCluster {
  const c = new TestCluster([1, 2, 3, 4, 5], { preVote: false, checkQuorum: false, maxSizePerMsg: 1 });
  c.campaign(1);
  t.is(c.node(1).status().term, 1);
  // (a) S1 reaches only S2.
  c.partition([1], [3, 4, 5]);
  c.propose(1, 'a');
  t.is(c.m(2).storage.lastIndex(), 2);
  t.is(c.node(1).status().commit, 1);
  // (b) S1 crashes; S5 wins term 2 with S3 and S4 (S2's log is more up to date, it refuses)
  // and its no-op (index 2, term 2) reaches nobody.
  c.isolate(1);
  c.intercept = (m) => (m.type === MessageType.App && m.from === 5 ? null : m);
  c.campaign(5);
  t.is(c.node(5).status().role, 'leader');
  t.is(c.node(5).status().term, 2);
  t.is(c.node(5).termAt(2), 2);
  // (c) S5 crashes; S1 restarts and wins a later term.
  c.heal();
  c.isolate(5);
  c.restart(1);
  return c;
}

test('Figure 8: an old-term entry on a majority is not committed by counting replicas', (t) => {
  const c = figure8Prefix(t);
  c.intercept = stripEntriesFrom(1, 3); // S1's current-term no-op (index 3) reaches nobody
  electUntilLeader(c, 1);
  const term = c.node(1).status().term;
  t.true(term >= 3);
  t.is(c.node(1).termAt(3), term, 'S1 appended its no-op at index 3');
  for (const id of [1, 2, 3, 4]) t.is(c.m(id).storage.term(2), 1, `S${id} stores the term-1 entry at index 2`);
  t.is(c.node(1).status().progress.get(3)?.match, 2);
  t.is(c.node(1).status().progress.get(4)?.match, 2);
  // 4 of 5 hold index 2, but it is from term 1: counting replicas must not commit it.
  t.is(c.node(1).status().commit, 1);

  // (d) Why: S1 crashes, S5 comes back and may legitimately overwrite index 2.
  c.heal();
  c.intercept = undefined;
  c.isolate(1);
  c.restart(5);
  electUntilLeader(c, 5);
  c.propose(5, 'b');
  for (const id of [2, 3, 4, 5]) {
    t.is(c.m(id).storage.term(2), 2, `S${id} now holds S5's term-2 entry at index 2`);
    t.false(
      c.m(id).applied.some((e) => new TextDecoder().decode(e.data) === 'a'),
      'the uncommitted "a" was never applied',
    );
    t.deepEqual(c.appliedData(id), ['b']);
  }
});

test('Figure 8 (e): an old-term entry commits together with a current-term entry above it', (t) => {
  const c = figure8Prefix(t);
  electUntilLeader(c, 1);
  c.propose(1, 'c');
  const st = c.node(1).status();
  t.is(st.commit, 4, 'index 2 (term 1), the no-op (3) and "c" (4) are committed');
  t.deepEqual(c.appliedData(1), ['a', 'c']);
  // Now S5 can never be elected: its last term (2) is older than the committed no-op's.
  c.heal();
  c.isolate(1);
  c.restart(5);
  for (let i = 0; i < 3; i++) c.campaign(5);
  t.not(c.node(5).status().role, 'leader');
  t.deepEqual(
    [2, 3, 4].map((id) => c.appliedData(id)),
    [
      ['a', 'c'],
      ['a', 'c'],
      ['a', 'c'],
    ],
  );
});
