// PeerTransport and PeerServer over real gRPC on loopback: batching per event-loop turn,
// per-peer order, batch splitting by size, the bounded queue, reconnecting after a peer
// restarts (reported unreachable meanwhile), and what is never sent at all.
import test from 'ava';
import { MessageType } from '../../server/raft/message.js';
import { app, msg, nextTick, seqs, startCluster, waitUntil } from './harness.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('messages sent within one turn of the event loop arrive as one batch, in order', async (t) => {
  const [a, b] = await startCluster(t, 2);
  // Several send() calls, as several Readies processed synchronously would make.
  for (let i = 1; i <= 300; i += 3) a.transport.send([app(1, 2, i), app(1, 2, i + 1), app(1, 2, i + 2)]);
  await waitUntil(
    () => b.received.length === 300,
    5_000,
    () => `300 messages (got ${b.received.length})`,
  );
  t.is(b.batches.length, 1);
  t.deepEqual(seqs(b.received), range(1, 300));

  // Later turns make later batches; nothing is merged across turns or reordered.
  a.transport.send([app(1, 2, 301)]);
  await nextTick();
  a.transport.send([app(1, 2, 302), app(1, 2, 303)]);
  await waitUntil(() => b.received.length === 303, 5_000, 'messages 301-303');
  t.deepEqual(b.batches.slice(1).map(seqs), [[301], [302, 303]]);
  await waitUntil(() => a.transport.stats().peers[2]!.active, 5_000, 'the sender to see its stream accepted');
  t.like(a.transport.stats().peers[2], { sentMessages: 303, sentBatches: 3, droppedMessages: 0, streamsOpened: 1 });
  t.deepEqual(a.unreachable, []);
});

test('each peer gets its own messages in order, interleaved sends and many turns notwithstanding', async (t) => {
  const [a, b, c] = await startCluster(t, 3);
  const data = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
  for (let i = 1; i <= 2000; i++) {
    a.transport.send([app(1, 2, i, data), app(1, 3, i), msg({ type: MessageType.Heartbeat, from: 1, to: 3, term: 1, commit: i })]);
    if (i % 37 === 0) await nextTick();
  }
  await waitUntil(
    () => b.received.length === 2000 && c.received.length === 4000,
    10_000,
    () => `all messages (b ${b.received.length}, c ${c.received.length})`,
  );
  t.deepEqual(seqs(b.received), range(1, 2000));
  t.true(
    b.received.every((m) => m.from === 1 && m.to === 2 && Buffer.from(m.entries[0]!.data).equals(Buffer.from(data))),
    'binary entry data intact',
  );
  const apps = c.received.filter((m) => m.type === MessageType.App);
  const beats = c.received.filter((m) => m.type === MessageType.Heartbeat);
  t.deepEqual(seqs(apps), range(1, 2000));
  t.deepEqual(
    beats.map((m) => m.commit),
    range(1, 2000),
  );
  t.true(b.batches.length < 200, `few batches (${b.batches.length})`);
  t.is(b.peerServer.stats().messages, 2000);
});

test('a turn with more bytes than maxBatchBytes is split into several batches, order kept', async (t) => {
  const [a, b] = await startCluster(t, 2, { transport: { maxBatchBytes: 16 * 1024 } });
  const kib = new Uint8Array(1024).fill(7);
  a.transport.send(range(1, 100).map((i) => app(1, 2, i, kib)));
  await waitUntil(() => b.received.length === 100, 5_000, 'all 100 messages');
  t.deepEqual(seqs(b.received), range(1, 100));
  t.true(b.batches.length >= 7 && b.batches.length <= 10, `${b.batches.length} batches of at most 16 KiB`);
  t.true(
    b.batches.every((batch) => batch.length <= 16),
    'no batch exceeds the byte budget',
  );
  // A single message above the budget still goes, alone.
  a.transport.send([app(1, 2, 101, new Uint8Array(64 * 1024))]);
  await waitUntil(() => b.received.length === 101, 5_000, 'the oversized message');
  t.is(b.batches.at(-1)?.length, 1);
});

test('a full queue drops the newest messages and reports the peer unreachable', async (t) => {
  const [a, b] = await startCluster(t, 2, { transport: { maxQueuedMessages: 10 } });
  a.transport.send(range(1, 100).map((i) => app(1, 2, i)));
  await waitUntil(() => b.received.length === 10 && a.unreachable.length > 0, 5_000, 'the first 10 messages and a report');
  t.deepEqual(seqs(b.received), range(1, 10));
  t.deepEqual(a.unreachable, [2]);
  t.like(a.transport.stats().peers[2], { droppedMessages: 90, sentMessages: 10 });
});

test('after the receiver restarts, the stream reconnects; the peer is reported unreachable while down', async (t) => {
  const [a, b] = await startCluster(t, 2);
  let seq = 0;
  const sendOne = (): void => a.transport.send([app(1, 2, ++seq)]);
  sendOne();
  await waitUntil(() => b.received.length === 1, 5_000, 'the first message');

  b.stopServer();
  // Raft keeps sending (heartbeats) while the peer is down; each attempt is dropped.
  const down = setInterval(sendOne, 10);
  t.teardown(() => clearInterval(down));
  await waitUntil(
    () => a.unreachable.length >= 3,
    5_000,
    () => `repeated unreachable reports (got ${a.unreachable.length})`,
  );
  t.true(a.unreachable.every((id) => id === 2));
  t.false(a.transport.stats().peers[2]!.active);
  const lastBeforeRestart = seq;

  await b.startServer();
  const state = (): string =>
    `peer 2 ${JSON.stringify(a.transport.stats().peers[2])}, ${a.unreachable.length} reports, ${b.received.length} received`;
  await waitUntil(
    () => b.received.some((m) => m.index >= lastBeforeRestart),
    15_000,
    () => `a message sent after the restart (${state()})`,
  );
  clearInterval(down);
  // The receiver's response headers (sent once it accepted the first batch) mark the stream up.
  await waitUntil(
    () => a.transport.stats().peers[2]!.active,
    5_000,
    () => `the new stream to be accepted (${state()})`,
  );
  const stats = a.transport.stats().peers[2]!;
  t.true(stats.streamFailures >= 1);
  t.true(stats.streamsOpened >= 2);
  // What arrived is in order even across the outage.
  const got = seqs(b.received);
  t.deepEqual(
    got,
    [...got].sort((x, y) => x - y),
  );

  // And the stream is healthy again: one more message arrives promptly. (Earlier ones may
  // still be in flight, so look for this one rather than count.)
  sendOne();
  const last = seq;
  await waitUntil(
    () => seqs(b.received).includes(last),
    5_000,
    () => `a message on the new stream (${state()})`,
  );
});

test("a peer that comes back and opens a stream cuts the sender's backoff short", async (t) => {
  // A backoff far longer than any wait here: only the peer's own stream can bring the
  // sender back before it ends.
  const [a, b] = await startCluster(t, 2, { transport: { backoff: { initialMs: 600_000, maxMs: 600_000 } } });
  let seq = 0;
  const sendOne = (): void => a.transport.send([app(1, 2, ++seq)]);
  sendOne();
  await waitUntil(() => b.received.length === 1, 5_000, 'the first message');

  b.stopServer();
  sendOne();
  await waitUntil(() => a.transport.stats().peers[2]!.streamFailures >= 1, 5_000, 'the stream to the stopped peer to fail');
  const state = (): string => `peer 2 ${JSON.stringify(a.transport.stats().peers[2])}, ${b.received.length} received`;

  await b.startServer();
  // What a member does once it listens again: an empty batch to every peer.
  b.transport.probe();
  await waitUntil(
    () => a.transport.stats().peers[2]!.earlyRetries === 1,
    5_000,
    () => `the backoff to be cut short (${state()})`,
  );
  const before = b.received.length;
  sendOne();
  await waitUntil(
    () => b.received.length > before,
    5_000,
    () => `a message after the peer came back (${state()})`,
  );
  t.is(seqs(b.received).at(-1), seq);
});

test('messages to unknown members and local messages are dropped and counted; send never throws', async (t) => {
  const [a, b] = await startCluster(t, 2);
  t.notThrows(() =>
    a.transport.send([
      app(1, 9, 1),
      msg({ type: MessageType.Hup, from: 1, to: 2 }),
      msg({ type: MessageType.Unreachable, from: 1, to: 2 }),
      app(1, 2, 1),
    ]),
  );
  await waitUntil(() => b.received.length === 1, 5_000, 'the one deliverable message');
  t.is(a.transport.stats().undeliverable, 3);
  t.deepEqual(seqs(b.received), [1]);
});

test('after close(), send is a no-op and nothing is reported', async (t) => {
  const [a, b] = await startCluster(t, 2);
  a.transport.send([app(1, 2, 1)]);
  await waitUntil(() => b.received.length === 1, 5_000, 'the first message');
  a.transport.close();
  b.stopServer();
  t.notThrows(() => a.transport.send([app(1, 2, 2)]));
  await nextTick(); // the turn in which a flush would have happened
  t.deepEqual(a.unreachable, []);
  t.like(a.transport.stats().peers[2], { queued: 0, sentMessages: 1, droppedMessages: 0 });
  t.is(b.received.length, 1);
});
