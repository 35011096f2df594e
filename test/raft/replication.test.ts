import test from 'ava';
import { MessageType } from '../../server/raft/message.js';
import { TestCluster, enc } from './helpers/cluster.js';

test('flow control: at most maxInflightMsgs unacknowledged appends per follower', (t) => {
  const c = new TestCluster([1, 2, 3], { maxInflightMsgs: 3 });
  c.campaign(1);
  c.propose(1, 'warm-up'); // follower 2 is now in Replicate state
  t.is(c.node(1).status().progress.get(2)?.state, 'replicate');
  c.intercept = (m) => (m.from === 2 && m.type === MessageType.AppResp ? null : m);
  const before = c.sent.length;
  for (let i = 0; i < 10; i++) {
    c.node(1).propose(enc(`p${i}`));
    c.flush();
  }
  c.stabilize();
  const toTwo = c.sent.slice(before).filter((m) => m.type === MessageType.App && m.to === 2 && m.entries.length > 0);
  const toThree = c.sent.slice(before).filter((m) => m.type === MessageType.App && m.to === 3 && m.entries.length > 0);
  t.is(toTwo.length, 3, 'window of 3 messages, then paused');
  t.true(toThree.length > 3, 'the acknowledging follower is not held back');
  t.is(c.node(3).status().commit, c.node(1).status().lastIndex, 'everything committed via {1,3}');
  t.deepEqual(c.appliedData(3).length, 11);
  // Acks resume the stream.
  c.intercept = undefined;
  c.tickAll(3);
  t.is(c.node(2).status().commit, c.node(1).status().commit);
});

test('flow control: one append carries at most maxSizePerMsg bytes (but at least one entry)', (t) => {
  const c = new TestCluster([1, 2, 3], { maxSizePerMsg: 100 });
  c.campaign(1);
  c.isolate(3);
  for (let i = 0; i < 10; i++) c.propose(1, 'x'.repeat(40));
  const before = c.sent.length;
  c.heal();
  c.tickAll(3);
  const apps = c.sent.slice(before).filter((m) => m.type === MessageType.App && m.to === 3 && m.entries.length > 0);
  t.true(apps.length >= 5);
  for (const m of apps) t.true(m.entries.length <= 2, `at most 2 entries of 56 bytes per 100-byte message`);
  t.deepEqual(c.appliedData(3), c.appliedData(1));
});

test('fast back-off: a long conflicting suffix is skipped a term at a time, not an index at a time', (t) => {
  const c = new TestCluster([1, 2, 3], { preVote: false });
  c.campaign(1);
  // Member 1 appends 50 entries in term 1 that nobody else gets.
  c.isolate(1);
  for (let i = 0; i < 50; i++) c.node(1).propose(enc(`orphan${i}`));
  c.flush();
  // 2 and 3 move on in later terms and commit 50 entries of their own.
  c.tickAll(30, [2, 3]);
  const lead = c.leaders().find((id) => id !== 1)!;
  for (let i = 0; i < 50; i++) c.propose(lead, `real${i}`);
  c.restart(1); // the old leader comes back as a follower
  c.heal();
  const before = c.sent.length;
  c.tickAll(3);
  const rejects = c.sent.slice(before).filter((m) => m.type === MessageType.AppResp && m.from === 1 && m.reject);
  t.true(rejects.length <= 2, `${rejects.length} rejections`);
  t.deepEqual(c.appliedData(1), c.appliedData(lead));
  t.is(c.appliedData(1).length, 50);
});
