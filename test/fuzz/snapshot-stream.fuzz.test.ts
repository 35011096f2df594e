// Fuzz targets: a snapshot as it arrives from a peer. The chunk sequence (SendSnapshotRequest
// bytes, then SnapshotAssembly's add/seal/finish as peer-server.ts drives it) and the
// reassembled stream (decodeSnapshot). Random chunk sequences, random bytes and mutated
// valid streams must end in a TransportError / StorageIntegrityError with a message, or in
// exactly the records that were sent. Never a crash, a hang, or different records.
import test from 'ava';
import fc from 'fast-check';
import * as pb from '../../gen/ts/cairn/raft/v1/raft.js';
import { decodeSnapshot, SnapshotEncoder } from '../../server/mvcc/snapshot-format.js';
import { StorageIntegrityError } from '../../server/storage/storage-error.js';
import { TransportError } from '../../server/transport/errors.js';
import { SnapshotAssembly } from '../../server/transport/snapshot-assembly.js';
import { mutationArb } from './arbitraries.js';
import { fuzzParams, mutate, type Mutation } from './fuzz-params.js';

const MAX_BYTES = 4096;

type ChunkOp = { kind: 'add'; data: Uint8Array } | { kind: 'seal'; bytes: number } | { kind: 'finish' };
const chunkOpArb: fc.Arbitrary<ChunkOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('add' as const), data: fc.uint8Array({ maxLength: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('seal' as const), bytes: fc.nat({ max: 6000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('finish' as const) }) },
);

test('snapshot chunks in any order: refused with a TransportError, or the exact bytes sent', (t) => {
  fc.assert(
    fc.property(fc.nat({ max: 6000 }), fc.array(chunkOpArb, { maxLength: 12 }), (announced, ops) => {
      let assembly: SnapshotAssembly;
      try {
        assembly = new SnapshotAssembly(announced, MAX_BYTES, 'fuzzed snapshot');
      } catch (err) {
        if (err instanceof TransportError && announced > MAX_BYTES) return;
        throw err;
      }
      const sent: Buffer[] = [];
      let sealedAt: number | undefined;
      for (const op of ops) {
        try {
          if (op.kind === 'add') {
            assembly.add(Buffer.from(op.data));
            sent.push(Buffer.from(op.data));
          } else if (op.kind === 'seal') {
            assembly.seal(op.bytes);
            sealedAt = op.bytes;
          } else {
            const got = assembly.finish();
            // Finishing succeeds only for a sealed transfer whose count matches what arrived.
            const all = Buffer.concat(sent);
            if (sealedAt !== all.length || !got.equals(all)) throw new Error('finished with bytes other than those sent');
            if (announced > 0 && all.length !== announced) throw new Error('finished with a size other than announced');
            if (all.length > MAX_BYTES) throw new Error('held more than the limit');
          }
        } catch (err) {
          if (err instanceof TransportError && err.message !== '') return;
          throw err;
        }
      }
    }),
    fuzzParams(t, import.meta.url, 1000),
  );
  t.pass();
});

test('SendSnapshotRequest bytes: random and mutated chunks decode or throw an Error, never crash', (t) => {
  const valid = fc
    .record({ data: fc.uint8Array({ maxLength: 64 }), totalBytes: fc.nat(), withMessage: fc.boolean() })
    .map(({ data, totalBytes, withMessage }) =>
      pb.SendSnapshotRequest.encode(
        pb.SendSnapshotRequest.fromPartial({
          clusterId: 7,
          data: Buffer.from(data),
          totalBytes,
          ...(withMessage
            ? { message: { type: pb.MessageType.MESSAGE_TYPE_SNAP, from: 2, to: 1, snapshotMetadata: { index: 5, term: 2 } } }
            : {}),
        }),
      ).finish(),
    );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 256 }),
        fc
          .tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
          .map(([b, ms]) => ms.reduce<Uint8Array>((x, m) => mutate(x, m), b)),
      ),
      (bytes) => {
        try {
          const req = pb.SendSnapshotRequest.decode(bytes);
          if (!Number.isSafeInteger(req.totalBytes) || req.totalBytes < 0) throw new Error(`total_bytes ${req.totalBytes} accepted`);
        } catch (err) {
          if (!(err instanceof Error) || err.message === '') throw new Error(`not a clear error: ${String(err)}`);
        }
      },
    ),
    fuzzParams(t, import.meta.url, 1000),
  );
  t.pass();
});

/** Records of a small keyspace; keys unique and sorted as the exporter sends them. */
const recordsArb = fc
  .uniqueArray(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 24 }), fc.uint8Array({ maxLength: 48 })), {
    maxLength: 12,
    selector: ([k]) => Buffer.from(k).toString('hex'),
  })
  .map((rs) => rs.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]));

function encodeStream(records: readonly [Buffer, Buffer][]): Buffer {
  const enc = new SnapshotEncoder();
  return Buffer.concat([enc.header(), ...records.map(([k, v]) => enc.record(k, v)), enc.trailer()]);
}

/** Cuts bytes into chunks at the given points, as the network might deliver them. */
function cut(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const s of sizes) {
    if (at >= bytes.length) break;
    chunks.push(bytes.subarray(at, at + s));
    at += s;
  }
  if (at < bytes.length) chunks.push(bytes.subarray(at));
  return chunks;
}

async function decodeAll(chunks: Buffer[]): Promise<{ records: [Buffer, Buffer][] } | { refused: StorageIntegrityError }> {
  async function* source(): AsyncGenerator<Buffer> {
    for (const c of chunks) yield c;
  }
  const records: [Buffer, Buffer][] = [];
  try {
    for await (const [k, v] of decodeSnapshot(source())) records.push([Buffer.from(k), Buffer.from(v)]);
    return { records };
  } catch (err) {
    if (err instanceof StorageIntegrityError && err.message !== '') return { refused: err };
    throw new Error(`decodeSnapshot threw something other than a StorageIntegrityError: ${String(err)}`, { cause: err });
  }
}

const cutsArb = fc.array(fc.integer({ min: 0, max: 64 }), { maxLength: 20 });

test('snapshot streams: valid ones in any chunking yield exactly the records sent', async (t) => {
  await fc.assert(
    fc.asyncProperty(recordsArb, cutsArb, async (records, cuts) => {
      const got = await decodeAll(cut(encodeStream(records), cuts));
      if ('refused' in got) throw got.refused;
      t.deepEqual(got.records, records);
    }),
    fuzzParams(t, import.meta.url, 200),
  );
});

test('snapshot streams: random and mutated bytes are refused with a StorageIntegrityError', async (t) => {
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 256 }).map((b) => ({ bytes: Buffer.from(b), original: undefined })),
        fc
          .tuple(recordsArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
          .map(([records, ms]: [[Buffer, Buffer][], Mutation[]]) => ({
            bytes: ms.reduce<Buffer>((x, m) => mutate(x, m), encodeStream(records)),
            original: records,
          })),
      ),
      cutsArb,
      async ({ bytes, original }, cuts) => {
        const got = await decodeAll(cut(bytes, cuts));
        if ('refused' in got) refused++;
        // The whole stream is checksummed: it is accepted only if it is the original one.
        else if (original === undefined || !bytes.equals(encodeStream(original)))
          throw new Error(`damaged stream accepted: ${bytes.toString('hex')}`);
      },
    ),
    fuzzParams(t, import.meta.url, 1000),
  );
  t.log(`${refused} refused`);
  t.pass();
});
