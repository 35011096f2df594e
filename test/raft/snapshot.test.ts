import test from 'ava';
import { MessageType } from '../../server/raft/message.js';
import { TestCluster, dec, enc } from './helpers/cluster.js';

/** Snapshot of the "state machine": the applied values, comma-joined. */
function compactTo(c: TestCluster, id: number): number {
  const m = c.m(id);
  const st = c.node(id).status();
  m.storage.createSnapshot(st.applied, st.confState, enc(c.appliedData(id).join(',')));
  m.storage.compact(st.applied);
  return st.applied;
}

test('a follower behind the compacted log catches up by snapshot and keeps replicating', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.propose(1, 'v0');
  c.isolate(3);
  for (let i = 1; i <= 10; i++) c.propose(1, `v${i}`);
  const snapIndex = compactTo(c, 1);
  compactTo(c, 2);
  t.is(c.m(1).storage.firstIndex(), snapIndex + 1, 'leader log compacted');
  t.true(c.node(3).status().lastIndex < snapIndex, 'member 3 is behind the compaction point');

  c.heal();
  c.tickAll(3);
  const snaps = c.sent.filter((m) => m.type === MessageType.Snap);
  t.is(snaps.length, 1, 'exactly one snapshot was sent');
  t.is(snaps[0]!.to, 3);
  t.deepEqual(c.m(3).installedSnapshots, [snapIndex]);
  t.is(c.m(3).storage.firstIndex(), snapIndex + 1);
  t.is(dec(c.m(3).storage.snapshot().data), c.appliedData(1).join(','));
  t.is(c.node(3).status().commit, snapIndex);
  t.is(c.node(3).status().applied, snapIndex);

  c.propose(1, 'after');
  t.deepEqual(c.appliedData(3), ['v0', 'after'], 'entries after the snapshot are applied normally');
  const pr = c.node(1).status().progress.get(3);
  t.is(pr?.state, 'replicate');
  t.is(pr?.match, c.node(1).status().lastIndex);
});

test('a follower that restarts after installing a snapshot resumes from it', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.isolate(3);
  for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
  const snapIndex = compactTo(c, 1);
  c.heal();
  c.tickAll(3);
  c.restart(3);
  t.is(c.node(3).status().commit, snapIndex);
  t.is(c.node(3).status().firstIndex, snapIndex + 1);
  c.tickAll(3);
  c.propose(1, 'z');
  t.deepEqual(c.appliedData(3), ['z']);
});

test('a failed snapshot delivery is retried after the follower answers again', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.isolate(3);
  for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
  const snapIndex = compactTo(c, 1);
  c.heal();
  let dropSnaps = true;
  c.intercept = (m) => (dropSnaps && m.type === MessageType.Snap ? null : m);
  c.tickAll(2);
  t.is(c.node(1).status().progress.get(3)?.state, 'snapshot', 'stuck waiting for the snapshot');
  c.node(1).reportSnapshot(3, true);
  dropSnaps = false;
  c.tickAll(3);
  t.deepEqual(c.m(3).installedSnapshots, [snapIndex]);
  t.is(c.node(1).status().progress.get(3)?.state, 'replicate');
});
