// Snapshot transfer over SendSnapshot: several MiB in 1 MiB chunks arrive intact with their
// metadata and success is reported; snapshots the disk cannot hold, failing sources and failing
// installs are reported as failures; one transfer per peer at a time.
import { createHash } from 'node:crypto';
import test from 'ava';
import { MessageType, type Message } from '../../server/raft/message.js';
import type { SnapshotChunks } from '../../server/transport/types.js';
import { app, msg, startCluster, waitUntil } from './harness.js';

const MiB = 1024 * 1024;

function snapMessage(from: number, to: number, data: Uint8Array = new Uint8Array(0)): Message {
  return msg({ type: MessageType.Snap, from, to, term: 5, snapshot: { index: 1234, term: 4, confState: { voters: [1, 2, 3] }, data } });
}

/** Deterministic pseudo-random bytes, so corruption anywhere would show. */
function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A state machine streaming `data` in odd-sized pieces; `totalBytes` only when `announce`. */
function streamed(data: Buffer, piece: number, announce: boolean): SnapshotChunks {
  async function* gen(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < data.byteLength; i += piece) yield data.subarray(i, i + piece);
  }
  return announce ? { totalBytes: data.byteLength, [Symbol.asyncIterator]: gen } : gen();
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

for (const announce of [true, false]) {
  test(`several MiB in 1 MiB chunks arrive intact and success is reported (size ${announce ? 'announced' : 'unknown'})`, async (t) => {
    const data = bytes(5 * MiB + 12_345);
    const [a, b] = await startCluster(t, 3, { transport: { snapshotSource: () => streamed(data, 300_001, announce) } });
    a.transport.send([snapMessage(1, 2), app(1, 3, 1)]);
    await waitUntil(() => a.snapshotReports.length === 1, 20_000, 'the snapshot report');
    t.deepEqual(a.snapshotReports, [{ id: 2, failed: false }]);
    t.is(b.snapshots.length, 1);
    const got = b.snapshots[0]!;
    t.is(got.data.byteLength, data.byteLength);
    t.is(sha(got.data), sha(data));
    t.is(got.message.snapshot!.data.byteLength, 0, 'the data travels in the file, not in the message');
    t.like(got.message, { type: MessageType.Snap, from: 1, to: 2, term: 5 });
    t.like(got.message.snapshot, { index: 1234, term: 4, confState: { voters: [1, 2, 3] } });
    t.is(b.snapshotChunks, 1 + 6 + 1, 'the message, five full MiB and a tail, the end marker');
    t.is(b.received.length, 0, 'MsgSnap never travels on the message stream');
    t.like(a.transport.stats(), { snapshotsSent: 1, snapshotsFailed: 0 });
    t.like(b.peerServer.stats(), { snapshotsApplied: 1, snapshotsInProgress: 0 });
  });
}

test('by default the data inside the MsgSnap is sent', async (t) => {
  const data = bytes(2 * MiB + 1, 7);
  const [a, b] = await startCluster(t, 2);
  a.transport.send([snapMessage(1, 2, data)]);
  await waitUntil(() => a.snapshotReports.length === 1, 20_000, 'the snapshot report');
  t.deepEqual(a.snapshotReports, [{ id: 2, failed: false }]);
  t.true(b.snapshots[0]!.data.equals(data));
  t.is(b.snapshotChunks, 1 + 3 + 1);
});

for (const announce of [true, false]) {
  test(`a snapshot the disk cannot hold is refused with RESOURCE_EXHAUSTED and reported failed (size ${announce ? 'announced' : 'unknown'})`, async (t) => {
    // A reserve larger than any disk: the refusal must stop the sender long before the end.
    const piece = Buffer.alloc(MiB);
    const pieces = 64;
    let piecesRead = 0;
    const source = (): SnapshotChunks => {
      const counted = {
        async *[Symbol.asyncIterator]() {
          for (; piecesRead < pieces; piecesRead++) yield piece;
        },
      };
      return announce ? { ...counted, totalBytes: pieces * MiB } : counted;
    };
    const [a, b] = await startCluster(t, 2, { transport: { snapshotSource: source }, server: { snapshotDiskReserveBytes: 2 ** 52 } });
    a.transport.send([snapMessage(1, 2)]);
    await waitUntil(() => a.snapshotReports.length === 1, 20_000, 'the snapshot report');
    t.deepEqual(a.snapshotReports, [{ id: 2, failed: true }]);
    t.deepEqual(b.snapshots, []);
    t.deepEqual(b.peerServer.stats().rejected, { SNAPSHOT_NO_SPACE: 1 });
    t.is(b.peerServer.stats().snapshotsInProgress, 0, 'the slot is released');
    t.true(piecesRead < pieces, `the sender stopped reading its source early (${piecesRead} of ${pieces} pieces)`);
  });
}

test('a failing source and a failing install are both reported as failures', async (t) => {
  let mode: 'source' | 'install' = 'source';
  const [a, b] = await startCluster(t, 3, {
    transport: {
      snapshotSource: () => ({
        async *[Symbol.asyncIterator]() {
          yield bytes(1000);
          if (mode === 'source') throw new Error('disk gone');
        },
      }),
    },
    server: {
      deliverSnapshot: async () => {
        throw new Error('cannot install');
      },
    },
  });
  a.transport.send([snapMessage(1, 2)]);
  await waitUntil(() => a.snapshotReports.length === 1, 10_000, 'the first report');
  mode = 'install';
  a.transport.send([snapMessage(1, 2)]);
  await waitUntil(() => a.snapshotReports.length === 2, 10_000, 'the second report');
  t.deepEqual(a.snapshotReports, [
    { id: 2, failed: true },
    { id: 2, failed: true },
  ]);
  t.is(b.peerServer.stats().snapshotsInProgress, 0);
  t.like(a.transport.stats(), { snapshotsSent: 0, snapshotsFailed: 2 });
});

test('a second MsgSnap to a peer while one is in flight is skipped; other peers are independent', async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const [a, b, c] = await startCluster(t, 3, {
    server: {
      deliverSnapshot: async () => {
        await gate;
      },
    },
  });
  a.transport.send([snapMessage(1, 2, bytes(10)), snapMessage(1, 2, bytes(10)), snapMessage(1, 3, bytes(10))]);
  await waitUntil(
    () => b.peerServer.stats().snapshotsInProgress === 1 && c.peerServer.stats().snapshotsInProgress === 1,
    10_000,
    'both transfers to be installing',
  );
  t.is(a.transport.stats().snapshotsSkipped, 1);
  release();
  await waitUntil(() => a.snapshotReports.length === 2, 10_000, 'both reports');
  t.deepEqual(
    [...a.snapshotReports].sort((x, y) => x.id - y.id),
    [
      { id: 2, failed: false },
      { id: 3, failed: false },
    ],
  );
});

test("a sender that gives up mid-transfer frees the receiver's slot", async (t) => {
  let receiverBusy = (): boolean => false;
  let transfers = 0;
  const [a, b] = await startCluster(t, 2, {
    transport: {
      snapshotChunkBytes: 64 * 1024,
      snapshotSource: () => ({
        async *[Symbol.asyncIterator]() {
          yield bytes(256 * 1024);
          if (++transfers > 1) return;
          // The first transfer fails, once the receiver holds a slot for it.
          await waitUntil(receiverBusy, 10_000, 'the receiver to start assembling');
          throw new Error('disk gone');
        },
      }),
    },
    server: { maxConcurrentSnapshots: 1 },
  });
  receiverBusy = () => b.peerServer.stats().snapshotsInProgress === 1;
  a.transport.send([snapMessage(1, 2)]);
  await waitUntil(() => a.snapshotReports.length === 1, 10_000, 'the failure report');
  t.deepEqual(a.snapshotReports, [{ id: 2, failed: true }]);
  await waitUntil(() => b.peerServer.stats().snapshotsInProgress === 0, 5_000, 'the slot to be freed');

  t.deepEqual(b.snapshots, [], 'a cut-short transfer is never installed');

  // With the only slot free again, the next transfer goes through.
  a.transport.send([snapMessage(1, 2)]);
  await waitUntil(() => a.snapshotReports.length === 2, 10_000, 'the second report');
  t.deepEqual(a.snapshotReports[1], { id: 2, failed: false });
  t.is(b.snapshots.length, 1);
  t.is(b.snapshots[0]!.data.byteLength, 256 * 1024);
});

test('a stalled source is abandoned at the transfer deadline and reported failed', async (t) => {
  const [a, b] = await startCluster(t, 2, {
    transport: {
      snapshotTimeoutMs: 300,
      snapshotSource: () => ({
        async *[Symbol.asyncIterator]() {
          yield bytes(1000);
          await new Promise(() => {}); // never yields again
        },
      }),
    },
  });
  a.transport.send([snapMessage(1, 2)]);
  await waitUntil(() => a.snapshotReports.length === 1, 10_000, 'the failure report');
  t.deepEqual(a.snapshotReports, [{ id: 2, failed: true }]);
  await waitUntil(() => b.peerServer.stats().snapshotsInProgress === 0, 5_000, 'the receiver to free its slot');
  t.deepEqual(b.snapshots, []);
});
