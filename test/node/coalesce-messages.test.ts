import test from 'ava';
import { coalesceMessages } from '../../server/node/coalesce-messages.js';
import { ConfChangeType, encodeConfChange } from '../../server/raft/conf-change.js';
import { MessageType, makeMessage, type Message } from '../../server/raft/message.js';
import { EntryType, type Entry } from '../../server/raft/types.js';
import { TestCluster, enc } from '../raft/helpers/cluster.js';

const MiB = 1024 * 1024;

function entry(index: number, term: number, data = `v${index}`, type: EntryType = EntryType.Normal): Entry {
  return { index, term, type, data: enc(data) };
}

function app(to: number, index: number, logTerm: number, entries: Entry[], commit: number, term = 2): Message {
  return makeMessage({ type: MessageType.App, from: 1, to, term, index, logTerm, entries, commit });
}

/** Two identical clusters with leader 1 elected and settled; the same steps then run on both. */
function twinClusters(): [TestCluster, TestCluster] {
  const pair: [TestCluster, TestCluster] = [new TestCluster([1, 2, 3], { seed: 5 }), new TestCluster([1, 2, 3], { seed: 5 })];
  for (const c of pair) {
    c.campaign(1);
    c.stabilize();
  }
  return pair;
}

/** What a follower ends with: its log, commit and what it applied. */
function followerState(c: TestCluster, id: number): unknown {
  const s = c.m(id).storage;
  return { log: s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity), commit: c.node(id).status().commit, applied: c.appliedData(id) };
}

test('a leader Ready with one append per proposal goes out as one append per follower, and the followers end the same', (t) => {
  const [plain, merged] = twinClusters();
  for (const c of [plain, merged]) {
    for (let i = 0; i < 6; i++) c.node(1).propose(enc(`put ${i}`));
    c.flush();
  }
  const appsBefore = plain.inflight.filter((m) => m.type === MessageType.App);
  t.is(appsBefore.length, 12, 'the core sends one append per proposal and follower');
  merged.inflight = coalesceMessages(merged.inflight, MiB);
  const appsAfter = merged.inflight.filter((m) => m.type === MessageType.App);
  t.deepEqual(
    appsAfter.map((m) => [m.to, m.entries.length]),
    [
      [2, 6],
      [3, 6],
    ],
  );
  plain.stabilize();
  merged.stabilize();
  for (const id of [2, 3]) t.deepEqual(followerState(merged, id), followerState(plain, id));
  t.deepEqual(merged.appliedData(1), plain.appliedData(1));
  t.is(merged.node(1).status().commit, merged.node(1).status().lastIndex, 'everything committed');
  t.deepEqual(merged.node(1).status().progress, plain.node(1).status().progress, 'the leader knows the same of each follower');
});

test('appends merge only when the second continues where the first ends, in the same term', (t) => {
  const a = app(2, 10, 2, [entry(11, 2), entry(12, 2)], 9);
  const next = app(2, 12, 2, [entry(13, 2)], 11);
  t.deepEqual(coalesceMessages([a, next], MiB), [{ ...a, entries: [entry(11, 2), entry(12, 2), entry(13, 2)], commit: 11 }]);
  // A commit-only append (no entries) merges either side of one with entries.
  const commitOnly = app(2, 13, 2, [], 13);
  t.deepEqual(coalesceMessages([a, next, commitOnly], MiB), [{ ...a, entries: [entry(11, 2), entry(12, 2), entry(13, 2)], commit: 13 }]);
  t.deepEqual(coalesceMessages([app(2, 10, 2, [], 9), a], MiB), [{ ...a, index: 10, logTerm: 2, commit: 9 }]);

  const gap = app(2, 13, 2, [entry(14, 2)], 11);
  t.is(coalesceMessages([a, gap], MiB).length, 2, 'a gap');
  const back = app(2, 11, 2, [entry(12, 2)], 11);
  t.is(coalesceMessages([a, back], MiB).length, 2, 'a resend from further back (after a rejection)');
  const otherLogTerm = app(2, 12, 1, [entry(13, 2)], 11);
  t.is(coalesceMessages([a, otherLogTerm], MiB).length, 2, 'a previous term that is not the first one last entry term');
  const otherTerm = app(2, 12, 2, [entry(13, 3)], 11, 3);
  t.is(coalesceMessages([a, otherTerm], MiB).length, 2, 'another term of the sender');
  const lowerCommit = app(2, 12, 2, [entry(13, 2)], 5);
  t.is(coalesceMessages([a, lowerCommit], MiB).length, 2, 'a lower commit');
});

test('each peer keeps its order: only a message and the one right before it to the same peer merge', (t) => {
  const to2a = app(2, 10, 2, [entry(11, 2)], 10);
  const to3a = app(3, 10, 2, [entry(11, 2)], 10);
  const heartbeat = makeMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 2, commit: 10 });
  const to2b = app(2, 11, 2, [entry(12, 2)], 10);
  const to3b = app(3, 11, 2, [entry(12, 2)], 10);
  const out = coalesceMessages([to2a, to3a, heartbeat, to2b, to3b], MiB);
  t.deepEqual(
    out.map((m) => [m.to, m.type, m.entries.length]),
    [
      [2, MessageType.App, 1],
      [3, MessageType.App, 2],
      [2, MessageType.Heartbeat, 0],
      [2, MessageType.App, 1],
    ],
  );
});

test('merged entries stay under the byte cap; a message over it alone still goes', (t) => {
  const big = (index: number): Entry => entry(index, 2, 'x'.repeat(40));
  const msgs = [0, 1, 2, 3, 4].map((i) => app(2, 10 + i, 2, [big(11 + i)], 10));
  const out = coalesceMessages(msgs, 100);
  t.deepEqual(
    out.map((m) => m.entries.map((e) => e.index)),
    [[11, 12], [13, 14], [15]],
  );
  const huge = app(2, 10, 2, [entry(11, 2, 'y'.repeat(500))], 10);
  t.deepEqual(coalesceMessages([huge, app(2, 11, 2, [big(12)], 10)], 100).length, 2);
});

test('acknowledgements merge into the highest one; rejections and lower ones stay', (t) => {
  const ack = (index: number, reject = false): Message =>
    makeMessage({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index, reject, rejectHint: reject ? index - 1 : 0 });
  t.deepEqual(coalesceMessages([ack(11), ack(12), ack(15)], MiB), [ack(15)]);
  t.is(coalesceMessages([ack(11), ack(12, true)], MiB).length, 2);
  t.is(coalesceMessages([ack(12, true), ack(13)], MiB).length, 2);
  t.is(coalesceMessages([ack(12), ack(11)], MiB).length, 2);
});

test('forwarded proposals merge, but a conf change travels alone (the leader refuses a whole proposal for it)', (t) => {
  const prop = (data: string): Message => makeMessage({ type: MessageType.Prop, from: 2, to: 1, entries: [entry(0, 0, data)] });
  const merged = coalesceMessages([prop('a'), prop('b'), prop('c')], MiB);
  t.is(merged.length, 1);
  t.deepEqual(
    merged[0]!.entries.map((e) => new TextDecoder().decode(e.data)),
    ['a', 'b', 'c'],
  );
  const cc = makeMessage({
    type: MessageType.Prop,
    from: 2,
    to: 1,
    entries: [{ index: 0, term: 0, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddLearner, nodeId: 4 }) }],
  });
  t.is(coalesceMessages([prop('a'), cc, prop('b')], MiB).length, 3);
});

test('messages that carry a snapshot or a context, and other types, are left as they are', (t) => {
  const hb = (ctx?: string): Message =>
    makeMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 2, ...(ctx !== undefined ? { context: enc(ctx) } : {}) });
  t.is(coalesceMessages([hb('a'), hb('b')], MiB).length, 2);
  t.is(coalesceMessages([hb(), hb()], MiB).length, 2);
  const withCtx = makeMessage({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 11, context: enc('x') });
  t.is(coalesceMessages([withCtx, makeMessage({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 12 })], MiB).length, 2);
});
