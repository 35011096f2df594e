// The receiving side refuses what it must, with the right status, delivers nothing of a
// refused batch, counts the refusal, and keeps serving: another cluster, malformed messages,
// a snapshot on the message stream, bytes that are not protobuf at all.
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { existsSync, readdirSync } from 'node:fs';
import test from 'ava';
import * as pb from '../../gen/ts/cairn/raft/v1/raft.js';
import { MessageType } from '../../server/raft/message.js';
import { encodeMessage } from '../../server/transport/codec.js';
import { REMOVED_MEMBER_KEY, TransportErrorCode } from '../../server/transport/errors.js';
import { crc32 } from '../../server/streams/crc32.js';
import { app, CLUSTER_ID, msg, seqs, startCluster, waitUntil, type Member } from './harness.js';

/** Sends the given chunks on one raw SendSnapshot call and returns how it ended. */
function rawSnapshot(
  target: Member,
  chunks: pb.SendSnapshotRequest[],
): Promise<{ err: ServiceError | null; res: pb.SendSnapshotResponse | undefined }> {
  const client = new pb.RaftPeerServiceClient(target.address, credentials.createInsecure());
  return new Promise((resolve) => {
    const call = client.sendSnapshot((err, res) => {
      client.close();
      resolve({ err, res });
    });
    call.on('error', () => {});
    for (const c of chunks) call.write(c);
    call.end();
  });
}

/** The files in a member's incoming snapshot directory. */
function incomingFiles(m: Member): string[] {
  const dir = m.peerServer.incomingSnapshotDir;
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Sends the given batches on one raw Stream call and returns how it ended. */
function rawStream(target: Member, batches: pb.StreamRequest[]): Promise<{ err: ServiceError | null; res: pb.StreamResponse | undefined }> {
  const client = new pb.RaftPeerServiceClient(target.address, credentials.createInsecure());
  return new Promise((resolve) => {
    const call = client.stream((err, res) => {
      client.close();
      resolve({ err, res });
    });
    call.on('error', () => {});
    for (const b of batches) call.write(b);
    call.end();
  });
}

const batch = (from: number, messages: pb.Message[], clusterId = CLUSTER_ID): pb.StreamRequest => ({ clusterId, from, messages });
const wireApp = (from: number, to: number, seq: number): pb.Message => encodeMessage(app(from, to, seq));

test('a stream from another cluster is refused with FAILED_PRECONDITION naming both ids', async (t) => {
  const [, b] = await startCluster(t, 2);
  const { err } = await rawStream(b, [batch(1, [wireApp(1, 2, 1)], 99)]);
  t.is(err?.code, status.FAILED_PRECONDITION);
  t.is(
    err?.details,
    'cluster id mismatch: this member belongs to cluster 7, the sender (member 1) to cluster 99 (another --initial-cluster or --initial-cluster-token)',
  );
  t.deepEqual(b.received, []);
  t.deepEqual(b.peerServer.stats().rejected, { [TransportErrorCode.ClusterMismatch]: 1 });
});

test('a transport configured with another cluster id never gets a message in and reports the peer unreachable', async (t) => {
  const [a, b] = await startCluster(t, 2, { transportFor: { 1: { clusterId: 8 } } });
  const tick = setInterval(() => a.transport.send([app(1, 2, 1)]), 10);
  t.teardown(() => clearInterval(tick));
  await waitUntil(
    () => a.unreachable.length >= 2 && (b.peerServer.stats().rejected.CLUSTER_MISMATCH ?? 0) >= 2,
    5_000,
    'repeated refusals',
  );
  clearInterval(tick);
  t.deepEqual(b.received, []);
  t.false(a.transport.stats().peers[2]!.active, 'a refused stream never counts as established');
});

test('malformed batches are refused with INVALID_ARGUMENT, nothing of them delivered', async (t) => {
  const [, b] = await startCluster(t, 2);
  const cases: [string, pb.StreamRequest, RegExp][] = [
    ['unknown type', batch(1, [wireApp(1, 2, 1), { ...wireApp(1, 2, 2), type: 42 as pb.MessageType }]), /unknown message type 42/],
    ['addressed to another member', batch(1, [wireApp(1, 2, 1), wireApp(1, 3, 2)]), /addressed to member 3, but this is member 2/],
    ['sender differs from the batch', batch(1, [wireApp(3, 2, 1)]), /MsgApp from member 3 inside a batch sent by member 1/],
    ['no sender', batch(0, [wireApp(0, 2, 1)]), /from is 0/],
    [
      'snapshot on the message stream',
      batch(1, [
        encodeMessage(
          msg({
            type: MessageType.Snap,
            from: 1,
            to: 2,
            snapshot: { index: 1, term: 1, confState: { voters: [1] }, data: new Uint8Array(0) },
          }),
        ),
      ]),
      /snapshots go over SendSnapshot/,
    ],
    [
      'entry of unknown type',
      batch(1, [{ ...wireApp(1, 2, 1), entries: [{ term: 1, index: 1, type: 9 as pb.EntryType, data: Buffer.alloc(0) }] }]),
      /unknown entry type 9/,
    ],
  ];
  for (const [name, bad, details] of cases) {
    const { err } = await rawStream(b, [bad]);
    t.is(err?.code, status.INVALID_ARGUMENT, name);
    t.regex(err?.details ?? '', details, name);
  }
  t.deepEqual(b.received, [], 'no message of a refused batch is delivered');

  // Good batches before a bad one are delivered; the stream ends at the bad one.
  const { err } = await rawStream(b, [
    batch(1, [wireApp(1, 2, 1)]),
    batch(1, [{ ...wireApp(1, 2, 2), to: 5 }]),
    batch(1, [wireApp(1, 2, 3)]),
  ]);
  t.is(err?.code, status.INVALID_ARGUMENT);
  t.deepEqual(seqs(b.received), [1]);

  // The server is unharmed: a clean stream delivers and answers with the count.
  const ok = await rawStream(b, [batch(1, [wireApp(1, 2, 10), wireApp(1, 2, 11)]), batch(1, [wireApp(1, 2, 12)])]);
  t.is(ok.err, null);
  t.is(ok.res?.received, 3);
  t.deepEqual(seqs(b.received), [1, 10, 11, 12]);
  const rejected = b.peerServer.stats().rejected;
  t.is(rejected.UNKNOWN_MESSAGE_TYPE, 1);
  t.is(rejected.WRONG_RECIPIENT, 2);
  t.is(rejected.MALFORMED_MESSAGE, 4);
});

test('bytes that are not a StreamRequest end the call with an error, and the server keeps serving', async (t) => {
  const [a, b] = await startCluster(t, 2);
  const Raw = makeGenericClientConstructor(
    {
      stream: {
        path: pb.RaftPeerServiceService.stream.path,
        requestStream: true,
        responseStream: false,
        requestSerialize: (x: Buffer) => x,
        requestDeserialize: (x: Buffer) => x,
        responseSerialize: (x: Buffer) => x,
        responseDeserialize: (x: Buffer) => x,
      },
    },
    'raw',
  );
  const client = new Raw(b.address, credentials.createInsecure());
  const err = await new Promise<ServiceError | null>((resolve) => {
    const call = client.makeClientStreamRequest(
      pb.RaftPeerServiceService.stream.path,
      (x: Buffer) => x,
      (x: Buffer) => x,
      new Metadata(),
      {},
      (e: ServiceError | null) => resolve(e),
    );
    call.on('error', () => {});
    // Field 3 (messages) claiming 100 bytes that are not there.
    call.write(Buffer.from([0x1a, 0x64, 0x01]));
    call.end();
  });
  client.close();
  // grpc-js answers undecodable requests itself, before the handler sees them.
  t.is(err?.code, status.INTERNAL);
  t.deepEqual(b.received, []);

  a.transport.send([app(1, 2, 1)]);
  await waitUntil(() => b.received.length === 1, 5_000, 'a good message after the garbage');
});

test('an exception in deliver becomes INTERNAL for that stream, not a crash', async (t) => {
  let calls = 0;
  const [, b] = await startCluster(t, 2, {
    server: {
      deliver: () => {
        calls++;
        throw new Error('bug in the core');
      },
    },
  });
  const { err } = await rawStream(b, [batch(1, [wireApp(1, 2, 1)]), batch(1, [wireApp(1, 2, 2)])]);
  t.is(err?.code, status.INTERNAL);
  t.is(err?.details, 'internal error; see the receiver log');
  t.is(calls, 1, 'the stream stops at the failure');
});

const snapWire = (from: number, to: number): pb.Message =>
  encodeMessage(
    msg({
      type: MessageType.Snap,
      from,
      to,
      term: 2,
      snapshot: { index: 9, term: 2, confState: { voters: [1, 2] }, data: new Uint8Array(0) },
    }),
  );
/** A chunk; its data's CRC-32 is filled in unless given. */
const chunk = (c: Partial<pb.SendSnapshotRequest>): pb.SendSnapshotRequest => ({
  clusterId: CLUSTER_ID,
  message: undefined,
  data: Buffer.alloc(0),
  totalBytes: 0,
  dataCrc32: crc32(c.data ?? Buffer.alloc(0)),
  totalCrc32: 0,
  ...c,
});
/** The end marker for `sent`, all the data sent. */
const endMarker = (sent: Buffer, c: Partial<pb.SendSnapshotRequest> = {}): pb.SendSnapshotRequest =>
  chunk({ totalBytes: sent.length, totalCrc32: crc32(sent), ...c });

test('malformed snapshot transfers are refused, their files deleted, and nothing is installed', async (t) => {
  const [, b] = await startCluster(t, 2);
  const data = Buffer.alloc(10, 1);
  const cases: [string, pb.SendSnapshotRequest[], number, RegExp][] = [
    [
      'other cluster',
      [chunk({ clusterId: 3, message: snapWire(1, 2) })],
      status.FAILED_PRECONDITION,
      /cluster 7, the sender \(member 1\) to cluster 3/,
    ],
    ['no message first', [chunk({ data })], status.INVALID_ARGUMENT, /first chunk carries no message/],
    [
      'not a MsgSnap',
      [chunk({ message: encodeMessage(app(1, 2, 1)) })],
      status.INVALID_ARGUMENT,
      /MsgApp from member 1 sent as a snapshot/,
    ],
    ['for another member', [chunk({ message: snapWire(1, 3) })], status.INVALID_ARGUMENT, /addressed to member 3/],
    [
      'a second message',
      [chunk({ message: snapWire(1, 2) }), chunk({ message: snapWire(1, 2), data })],
      status.INVALID_ARGUMENT,
      /a message in a chunk after the first/,
    ],
    [
      'cut short (no end marker)',
      [chunk({ message: snapWire(1, 2) }), chunk({ data })],
      status.INVALID_ARGUMENT,
      /without its end marker after 10 bytes/,
    ],
    [
      'end marker with the wrong size',
      [chunk({ message: snapWire(1, 2) }), chunk({ data }), endMarker(data, { totalBytes: 11 })],
      status.INVALID_ARGUMENT,
      /sent 11 bytes but 10 arrived/,
    ],
    [
      'truncated against the announced size',
      [chunk({ message: snapWire(1, 2), totalBytes: 20 }), chunk({ data }), endMarker(data)],
      status.INVALID_ARGUMENT,
      /10 bytes sent, 20 announced/,
    ],
    [
      'more than announced',
      [chunk({ message: snapWire(1, 2), totalBytes: 5 }), chunk({ data })],
      status.INVALID_ARGUMENT,
      /more data than the 5 bytes announced/,
    ],
    [
      'a damaged chunk',
      [chunk({ message: snapWire(1, 2) }), chunk({ data, dataCrc32: crc32(data) ^ 1 }), endMarker(data)],
      status.INVALID_ARGUMENT,
      /the chunk ending at byte 10 is damaged/,
    ],
    [
      'a chunk lost on the way (whole-transfer checksum)',
      [chunk({ message: snapWire(1, 2) }), chunk({ data }), endMarker(Buffer.concat([data, data]), { totalBytes: 10 })],
      status.INVALID_ARGUMENT,
      /checksum mismatch over the whole transfer/,
    ],
    [
      'data after the end marker',
      [chunk({ message: snapWire(1, 2) }), chunk({ data }), endMarker(data), chunk({ data })],
      status.INVALID_ARGUMENT,
      /data after the end marker/,
    ],
    [
      'announced larger than the disk can hold',
      [chunk({ message: snapWire(1, 2), totalBytes: 2 ** 52 })],
      status.RESOURCE_EXHAUSTED,
      /not enough disk space in .*snap: .* MiB free, the incoming snapshot\(s\) need about 12884901888\.0 MiB more/,
    ],
    ['empty call', [], status.INVALID_ARGUMENT, /ended before the first chunk/],
  ];
  for (const [name, chunks, code, details] of cases) {
    const { err } = await rawSnapshot(b, chunks);
    t.is(err?.code, code, name);
    t.regex(err?.details ?? '', details, name);
  }
  t.deepEqual(b.snapshots, []);
  t.is(b.peerServer.stats().snapshotsInProgress, 0);
  await waitUntil(
    () => incomingFiles(b).length === 0,
    5_000,
    () => `the refused files to be deleted: ${incomingFiles(b).join(', ')}`,
  );

  // A well-formed transfer after all that is installed.
  const ok = await rawSnapshot(b, [chunk({ message: snapWire(1, 2), totalBytes: 10 }), chunk({ data }), endMarker(data)]);
  t.is(ok.err, null);
  t.true(ok.res?.applied);
  t.true(b.snapshots[0]?.data.equals(data));
});

test('closeAll ends the long-lived peer calls, so a graceful shutdown completes', async (t) => {
  const [a, b] = await startCluster(t, 2);
  a.transport.send([app(1, 2, 1)]);
  await waitUntil(() => a.transport.stats().peers[2]!.active, 5_000, 'an open, accepted stream');
  let stopped = false;
  const shutdown = b.shutdownGracefully().then(() => (stopped = true));
  await waitUntil(() => stopped, 5_000, 'tryShutdown to complete');
  await shutdown;
  await waitUntil(() => a.unreachable.includes(2), 5_000, 'the sender to see its stream end');
  t.is(b.received.length, 1);
});

test('calls arriving after closeAll are answered UNAVAILABLE', async (t) => {
  const [, b] = await startCluster(t, 2);
  b.peerServer.closeAll();
  const s1 = await rawStream(b, [batch(1, [wireApp(1, 2, 1)])]);
  t.is(s1.err?.code, status.UNAVAILABLE);
  t.is(s1.err?.details, 'member is shutting down');
  const s2 = await rawSnapshot(b, [chunk({ message: snapWire(1, 2) }), chunk({ totalBytes: 0 })]);
  t.is(s2.err?.code, status.UNAVAILABLE);
  t.deepEqual(b.received, []);
  t.deepEqual(b.snapshots, []);
});

test('a removed member is refused, naming it in the trailer; its transport is told, once probing is enough', async (t) => {
  const removed = new Set<number>();
  const told: { by: number; self: number }[] = [];
  const [a, b] = await startCluster(t, 2, {
    server: { isRemoved: (id) => removed.has(id) },
    transportFor: { 1: { onRemovedByPeer: (by) => told.push({ by, self: 1 }) } },
  });
  // Still a member: its messages go through.
  a.transport.send([app(1, 2, 1)]);
  await waitUntil(() => b.received.length === 1, 5_000, 'the first message');

  removed.add(1);
  // A raw stream sees the status: FAILED_PRECONDITION, and the member's id in the trailer.
  const { err } = await rawStream(b, [batch(1, [wireApp(1, 2, 2)])]);
  t.is(err?.code, status.FAILED_PRECONDITION);
  t.regex(err?.details ?? '', /member 1 was removed from the cluster/);
  t.deepEqual(err?.metadata.get(REMOVED_MEMBER_KEY), ['1']);
  // A member that sends nothing (a removed learner) learns it from a probe: an empty batch.
  a.transport.probe();
  await waitUntil(() => told.length > 0, 5_000, 'the transport told of the removal');
  t.deepEqual(told[0], { by: 2, self: 1 });
  t.deepEqual(b.received.length, 1, 'nothing of a removed member is delivered');
  t.true((b.peerServer.stats().rejected[TransportErrorCode.MemberRemoved] ?? 0) >= 2);
});

test('a member that was not removed is delivered to and never told it was', async (t) => {
  const told: number[] = [];
  const [a, b] = await startCluster(t, 2, {
    server: { isRemoved: (id) => id === 1 },
    transportFor: { 2: { onRemovedByPeer: (by) => told.push(by) } },
  });
  // Only member 1 counts as removed: member 2 is delivered to and not told.
  b.transport.send([app(2, 1, 1)]);
  await waitUntil(() => a.received.length === 1, 5_000, 'a message from member 2');
  t.deepEqual(told, []);
});
