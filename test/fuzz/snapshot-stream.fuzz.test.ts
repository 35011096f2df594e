// Fuzz targets: a snapshot as it arrives from a peer. The chunk sequence (SendSnapshotRequest
// bytes, then IncomingSnapshot's add/seal as peer-server.ts drives it, writing a file), the
// received stream (decodeSnapshot), and a received file damaged on disk before its install
// (readChecksummedFile + verifySnapshot). Random chunk sequences, random bytes and mutated
// valid streams must end in a TransportError / StorageIntegrityError / FileChecksumError with
// a message (and no file left behind), or in exactly the bytes and records that were sent.
// Never a crash, a hang, or different records.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import * as pb from '../../gen/ts/cairn/raft/v1/raft.js';
import { decodeSnapshot, SnapshotEncoder } from '../../server/mvcc/snapshot-format.js';
import { verifySnapshot } from '../../server/mvcc/snapshot.js';
import { FileChecksumError, readChecksummedFile } from '../../server/streams/checksummed-file-reader.js';
import { crc32 } from '../../server/streams/crc32.js';
import { StorageIntegrityError } from '../../server/storage/storage-error.js';
import { TransportError } from '../../server/transport/errors.js';
import { IncomingSnapshot, type ReceivedSnapshot } from '../../server/transport/incoming-snapshot.js';
import { mutationArb } from './arbitraries.js';
import { fuzzParams, mutate, type Mutation } from './fuzz-params.js';

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

type ChunkOp =
  { kind: 'add'; data: Uint8Array; damaged: boolean } | { kind: 'seal'; bytes: number | 'sent'; crc: 'sent' | 'other' } | { kind: 'check' };
const chunkOpArb: fc.Arbitrary<ChunkOp> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('add' as const), data: fc.uint8Array({ maxLength: 1500 }), damaged: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('seal' as const),
      bytes: fc.oneof(fc.constant('sent' as const), fc.nat({ max: 6000 })),
      crc: fc.constantFrom('sent' as const, 'other' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('check' as const) }) },
);

test('snapshot chunks in any order: refused with a TransportError and the file deleted, or a file of exactly the bytes sent', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-fuzz-snap-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 6000 }), fc.array(chunkOpArb, { maxLength: 12 }), async (announced, ops) => {
      const incoming = await IncomingSnapshot.create(dir, 2, 9, announced, 'fuzzed snapshot');
      const sent: Buffer[] = [];
      let file: ReceivedSnapshot | undefined;
      try {
        for (const op of ops) {
          if (op.kind === 'add') {
            const data = Buffer.from(op.data);
            await incoming.add(data, op.damaged ? crc32(data) ^ 0x5a : crc32(data));
            if (op.damaged && data.length > 0) throw new Error('a damaged chunk was accepted');
            sent.push(data);
          } else if (op.kind === 'seal') {
            const all = Buffer.concat(sent);
            file = await incoming.seal(op.bytes === 'sent' ? all.length : op.bytes, op.crc === 'sent' ? crc32(all) : crc32(all) ^ 1);
            // Sealing succeeds only with the count and checksum of what arrived, and the announced size.
            if (op.bytes !== 'sent' && op.bytes !== all.length) throw new Error('sealed with a wrong byte count');
            if (op.crc !== 'sent') throw new Error('sealed with a wrong checksum');
            if (announced > 0 && all.length !== announced) throw new Error('sealed with a size other than announced');
            const onDisk = await readFile(file.path);
            if (!onDisk.equals(all) || file.bytes !== all.length || file.crc32 !== crc32(all))
              throw new Error('the file differs from the bytes sent');
          } else {
            incoming.checkSealed();
          }
        }
      } catch (err) {
        if (!(err instanceof TransportError) || err.message === '') throw err;
        await incoming.discard();
      }
      // A refusal after sealing deletes the sealed file too; else it is the receiver's to delete.
      if (file === undefined) await incoming.discard();
      else await rm(file.path, { force: true });
      const left = await readdir(dir);
      if (left.length > 0) throw new Error(`files left behind: ${left.join(', ')}`);
    }),
    fuzzParams(t, import.meta.url, 300),
  );
  t.pass();
});

test('snapshot files damaged on disk after they were received are refused by the reader', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-fuzz-snapfile-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await fc.assert(
    fc.asyncProperty(recordsArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (records, ms) => {
      // Keys in the MVCC keyspace ('k'), as the exporter sends them.
      const bytes = encodeStream(records.map(([k, v]) => [Buffer.concat([Buffer.from('k'), k]), v]));
      const incoming = await IncomingSnapshot.create(dir, 3, 4, 0, 'fuzzed snapshot');
      await incoming.add(bytes, crc32(bytes));
      const file = await incoming.seal(bytes.length, crc32(bytes));
      const damaged = ms.reduce<Buffer>((x, m) => mutate(x, m), bytes);
      await writeFile(file.path, damaged);
      try {
        await verifySnapshot(readChecksummedFile(file, 17));
        if (!damaged.equals(bytes)) throw new Error('a damaged file was accepted');
      } catch (err) {
        if (!(err instanceof FileChecksumError || err instanceof StorageIntegrityError) || err.message === '') throw err;
        if (damaged.equals(bytes)) throw new Error(`an intact file was refused: ${err.message}`);
      } finally {
        await rm(file.path);
      }
    }),
    fuzzParams(t, import.meta.url, 300),
  );
  t.pass();
});
