import test from 'ava';
import type { ConfChange } from '../../server/raft/conf-change.js';
import { ConfChangeType } from '../../server/raft/conf-change.js';
import { MessageType } from '../../server/raft/message.js';
import { DropReason, StateRole } from '../../server/raft/types.js';
import { TestCluster, enc } from './helpers/cluster.js';

const addLearner = (nodeId: number): ConfChange => ({ type: ConfChangeType.AddLearner, nodeId });
const promote = (nodeId: number): ConfChange => ({ type: ConfChangeType.PromoteLearner, nodeId });
const remove = (nodeId: number): ConfChange => ({ type: ConfChangeType.RemoveMember, nodeId });

/** A 3-voter cluster led by 1 (its no-op committed), with member `learner` added as a learner. */
function withLearner(learner = 4): TestCluster {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  const r = c.node(1).proposeConfChange(addLearner(learner));
  if (!r.accepted) throw new Error(`add learner refused: ${r.reason}`);
  c.stabilize();
  c.join(learner, c.node(1).status().confState);
  c.tickAll(3);
  return c;
}

test('an added learner receives the log, is tracked with its match index, and appears in the configuration', (t) => {
  const c = withLearner(4);
  c.propose(1, 'a');
  t.deepEqual(c.node(1).status().confState, { voters: [1, 2, 3], learners: [4] });
  t.deepEqual(c.node(4).status().confState, { voters: [1, 2, 3], learners: [4] }, 'replaying the log kept the configuration');
  t.deepEqual(c.appliedData(4).slice(-1), ['a']);
  const pr = c.node(1).status().progress.get(4);
  t.is(pr?.learner, true);
  t.is(pr?.match, c.node(1).status().lastIndex, 'match index exposed for "how far behind"');
  t.deepEqual(
    c.m(4).confChanges.map((x) => [x.change.type, x.confState]),
    [[ConfChangeType.AddLearner, { voters: [1, 2, 3], learners: [4] }]],
    'the learner reports the conf change it applied (a no-op on the configuration it started with)',
  );
});

test('learners are not counted in the commit quorum', (t) => {
  const c = withLearner(4);
  t.true(c.node(1).proposeConfChange(addLearner(5)).accepted);
  c.stabilize();
  c.join(5, c.node(1).status().confState);
  c.tickAll(3);
  const before = c.node(1).status().commit;
  // Leader + 2 learners would be 3 of 5 members, but they are 1 of 3 voters.
  c.partition([1, 4, 5], [2, 3]);
  c.node(1).propose(enc('x'));
  c.stabilize();
  const last = c.node(1).status().lastIndex;
  t.is(c.node(1).status().progress.get(4)?.match, last, 'learner 4 acknowledged the entry');
  t.is(c.node(1).status().progress.get(5)?.match, last, 'learner 5 acknowledged the entry');
  t.is(c.node(1).status().commit, before, 'not committed');
});

test('a learner never campaigns, however long it hears nothing', (t) => {
  const c = withLearner(4);
  c.isolate(4);
  c.tickAll(100, [4]);
  t.is(c.node(4).status().role, StateRole.Follower);
  t.is(c.node(4).status().term, c.node(1).status().term);
  t.false(
    c.sent.some((m) => m.from === 4 && (m.type === MessageType.Vote || m.type === MessageType.PreVote)),
    'no vote request from the learner',
  );
});

test('check-quorum counts voters only: a leader that hears only from learners steps down', (t) => {
  const c = withLearner(4);
  t.true(c.node(1).proposeConfChange(addLearner(5)).accepted);
  c.stabilize();
  c.join(5, c.node(1).status().confState);
  c.tickAll(3);
  c.partition([1, 4, 5], [2, 3]);
  c.tickAll(25, [1, 4, 5]);
  t.not(c.node(1).status().role, StateRole.Leader);
});

test('a promoted learner votes and counts in the quorum', (t) => {
  const c = withLearner(4);
  const r = c.node(1).proposeConfChange(promote(4));
  t.true(r.accepted);
  c.stabilize();
  t.deepEqual(c.node(1).status().confState, { voters: [1, 2, 3, 4], learners: [] });
  t.is(c.node(1).status().progress.get(4)?.learner, false);
  // 4 voters: a quorum is 3, so leader + 2 is not enough without 4... and enough with it.
  c.isolate(4);
  const commit = c.node(1).status().commit;
  c.partition([3], [1, 2, 4]);
  c.propose(1, 'needs-4');
  t.is(c.node(1).status().commit, commit, '1 and 2 are no quorum of 4 voters');
  c.heal();
  c.partition([3], [1, 2, 4]);
  c.tickAll(3, [1, 2, 4]);
  t.true(c.node(1).status().commit > commit, 'with the promoted member, 3 of 4 commit');
});

test('only one conf change at a time: a second proposal is refused until the first is applied', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  const first = c.node(1).proposeConfChange(addLearner(4));
  t.true(first.accepted);
  const second = c.node(1).proposeConfChange(addLearner(5));
  t.false(second.accepted);
  if (!second.accepted) {
    t.is(second.reason, DropReason.ConfChangePending);
    t.regex(second.detail ?? '', /not applied yet/);
  }
  c.stabilize();
  t.true(c.node(1).proposeConfChange(addLearner(5)).accepted, 'accepted once the first one applied');
  c.stabilize();
  t.deepEqual(c.node(1).status().confState.learners, [4, 5]);
});

test('a new leader refuses conf changes until an entry of its term committed', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.node(1).campaign();
  for (let i = 0; i < 20 && c.node(1).status().role !== StateRole.Leader; i++) c.deliverOnce();
  t.is(c.node(1).status().role, StateRole.Leader);
  const early = c.node(1).proposeConfChange(addLearner(4));
  t.false(early.accepted);
  if (!early.accepted) t.is(early.reason, DropReason.ConfChangeTooEarly);
  c.stabilize();
  t.true(c.node(1).proposeConfChange(addLearner(4)).accepted);
});

test('changes that do not fit the configuration are refused with the reason', (t) => {
  const single = new TestCluster([1]);
  single.campaign(1);
  const last = single.node(1).proposeConfChange(remove(1));
  t.false(last.accepted);
  if (!last.accepted) {
    t.is(last.reason, DropReason.ConfChangeInvalid);
    t.regex(last.detail ?? '', /would leave no voter/);
  }
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  const cases: [ConfChange, RegExp][] = [
    [addLearner(2), /already a voter/],
    [promote(2), /already a voter/],
    [promote(9), /not a learner/],
    [remove(9), /not a member/],
    [addLearner(0), /invalid member id/],
  ];
  for (const [cc, re] of cases) {
    const r = c.node(1).proposeConfChange(cc);
    t.false(r.accepted, `${cc.type} ${cc.nodeId}`);
    if (!r.accepted) t.regex(r.detail ?? '', re);
  }
  t.deepEqual(c.node(1).status().confState, { voters: [1, 2, 3], learners: [] }, 'nothing changed');
});

test('conf changes are leader-only: a follower says who to ask', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  const r = c.node(2).proposeConfChange(addLearner(4));
  t.false(r.accepted);
  if (!r.accepted) t.is(r.reason, DropReason.NotLeader);
});

test('a removed follower stops taking part; the rest commit with the smaller quorum', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  t.true(c.node(1).proposeConfChange(remove(3)).accepted);
  c.stabilize();
  c.tickAll(2); // heartbeats carry the commit of the removal to 3
  t.true(c.node(3).status().removed, 'member 3 applied its own removal');
  t.deepEqual(c.node(1).status().confState, { voters: [1, 2], learners: [] });
  t.false(c.node(1).status().progress.has(3), 'progress of the removed member is gone');
  // The removed member ignores ticks and messages.
  const term = c.node(3).status().term;
  c.tickAll(50, [3]);
  t.is(c.node(3).status().term, term);
  t.is(c.node(3).propose(enc('x')).accepted, false);
  // 1 + 2 are a quorum of the new configuration.
  c.partition([3], [1, 2]);
  c.propose(1, 'two-of-two');
  t.deepEqual(c.appliedData(2).slice(-1), ['two-of-two']);
});

test('a removed learner stops', (t) => {
  const c = withLearner(4);
  t.true(c.node(1).proposeConfChange(remove(4)).accepted);
  c.stabilize();
  c.tickAll(2);
  t.true(c.node(4).status().removed);
  t.deepEqual(c.node(1).status().confState, { voters: [1, 2, 3], learners: [] });
});

test('a removed leader hands over to the most up-to-date voter at once, then stops', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  c.propose(1, 'before');
  const term = c.node(1).status().term;
  t.true(c.node(1).proposeConfChange(remove(1)).accepted);
  c.stabilize(); // no ticks: only the hand-over (MsgTimeoutNow) can elect the next leader
  t.true(c.node(1).status().removed);
  t.not(c.node(1).status().role, StateRole.Leader);
  t.true(c.sent.some((m) => m.type === MessageType.TimeoutNow && m.from === 1));
  const leaders = c.leaders();
  t.is(leaders.length, 1);
  t.not(leaders[0], 1);
  t.is(c.node(leaders[0]!).status().term, term + 1);
  t.deepEqual(c.node(leaders[0]!).status().confState, { voters: [2, 3], learners: [] });
  c.propose(leaders[0]!, 'after');
  t.deepEqual(c.appliedData(2).slice(-2), ['before', 'after']);
  t.deepEqual(c.appliedData(3).slice(-2), ['before', 'after']);
});

test('a leader transfer to a learner is refused', (t) => {
  const c = withLearner(4);
  const r = c.node(1).transferLeadership(4);
  t.false(r.accepted);
  if (!r.accepted) t.is(r.reason, DropReason.NotMember);
  t.is(c.node(1).status().leadTransferee, 0);
});

test('a restarted member rebuilds its configuration from snapshot + log', (t) => {
  const c = withLearner(4);
  // Snapshot on member 2 while 4 is a learner; then promote (only in the log after it).
  const st = c.node(2).status();
  c.m(2).storage.createSnapshot(st.applied, st.confState, enc(''));
  c.m(2).storage.compact(st.applied);
  t.deepEqual(c.m(2).storage.snapshot().confState, { voters: [1, 2, 3], learners: [4] }, 'the snapshot carries the learners');
  t.true(c.node(1).proposeConfChange(promote(4)).accepted);
  c.stabilize();
  const applied = c.node(2).status().applied;
  // The state machine kept everything (applied beyond the snapshot): the promotion is not
  // handed out again, so the core must replay it from the log.
  c.restart(2, 5, applied);
  t.deepEqual(c.node(2).status().confState, { voters: [1, 2, 3, 4], learners: [] });
  // The state machine restarts from the snapshot: the promotion is applied again.
  c.restart(2, 6);
  t.deepEqual(c.node(2).status().confState, { voters: [1, 2, 3], learners: [4] });
  c.tickAll(3);
  t.deepEqual(c.node(2).status().confState, { voters: [1, 2, 3, 4], learners: [] });
});

test('a joining member behind the compacted log is caught up by snapshot and learns the configuration', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
  const st = c.node(1).status();
  c.m(1).storage.createSnapshot(st.applied, st.confState, enc('snap'));
  c.m(1).storage.compact(st.applied);
  t.true(c.node(1).proposeConfChange(addLearner(4)).accepted);
  c.stabilize();
  c.join(4, c.node(1).status().confState);
  c.tickAll(3);
  t.deepEqual(c.m(4).installedSnapshots, [st.applied], 'the snapshot (taken before the add) was installed');
  t.deepEqual(c.node(4).status().confState, { voters: [1, 2, 3], learners: [4] }, 'the add came from the log after it');
  c.propose(1, 'later');
  t.deepEqual(c.appliedData(4).slice(-1), ['later']);
});

test('the leader of a two-voter configuration cannot remove itself (the other voter would need its vote forever)', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  const two = new TestCluster([1, 2]);
  two.campaign(1);
  const r = two.node(1).proposeConfChange(remove(1));
  t.false(r.accepted);
  if (!r.accepted) t.regex(r.detail ?? '', /transfer leadership first/);
  t.true(two.node(1).proposeConfChange(remove(2)).accepted, 'removing the follower is fine: the leader applies it itself');
  t.true(c.node(1).proposeConfChange(remove(1)).accepted, 'with three voters the others keep a quorum of the old configuration');
});

test('a member restarted after applying its own removal stays removed', (t) => {
  const c = new TestCluster([1, 2, 3]);
  c.campaign(1);
  t.true(c.node(1).proposeConfChange(remove(3)).accepted);
  c.stabilize();
  c.tickAll(2);
  t.true(c.node(3).status().removed);
  c.restart(3, 5, c.node(3).status().applied);
  t.true(c.node(3).status().removed, 'the replayed log says so');
  t.deepEqual(c.node(3).status().confState, { voters: [1, 2], learners: [] });
});
