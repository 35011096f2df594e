import test, { type ExecutionContext } from 'ava';
import { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { decodeStoredVersion, encodeStoredVersion } from '../../server/mvcc/stored-version.js';
import { revisionKey } from '../../server/mvcc/schema.js';
import { Prng } from '../sim/prng.js';

// encodeStoredVersion must write exactly the bytes of the generated encoder: records written
// before it, and by any other Cairn, are read back by the generated decoder.
const edges = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER];

function kv(fields: Partial<KeyValue>): KeyValue {
  return { key: Buffer.from('k'), createRevision: 1, modRevision: 1, version: 1, value: Buffer.alloc(0), lease: 0, ...fields };
}

function assertSameBytes(t: ExecutionContext, record: KeyValue, label: string): void {
  const fast = encodeStoredVersion(record);
  t.true(Buffer.isBuffer(fast), label);
  t.deepEqual(fast, Buffer.from(KeyValue.encode(record).finish()), label);
}

test('every integer field at varint boundaries encodes as the generated encoder does', (t) => {
  for (const n of edges) {
    for (const field of ['createRevision', 'modRevision', 'version', 'lease'] as const) {
      assertSameBytes(t, kv({ [field]: n }), `${field} = ${n}`);
    }
  }
});

test('keys and values of every length class, empty ones left out, encode as the generated encoder does', (t) => {
  for (const length of [0, 1, 127, 128, 300, 16_384, 70_000]) {
    assertSameBytes(t, kv({ value: Buffer.alloc(length, 7) }), `value of ${length} bytes`);
    assertSameBytes(t, kv({ key: Buffer.alloc(length, 'x') }), `key of ${length} bytes`);
  }
  // A tombstone: the key and the mod revision alone.
  assertSameBytes(t, kv({ createRevision: 0, version: 0 }), 'tombstone');
});

test('a negative lease takes the generated encoder (ten-byte two’s complement varint)', (t) => {
  assertSameBytes(t, kv({ lease: -1 }), 'lease -1');
  assertSameBytes(t, kv({ lease: -(2 ** 40) }), 'lease -2^40');
});

test('random records encode as the generated encoder does and decode back as stored versions', (t) => {
  const seed = Number(process.env.STORED_VERSION_SEED ?? Date.now() % 2 ** 31);
  t.log(`seed ${seed} (STORED_VERSION_SEED=${seed} replays it)`);
  const rng = new Prng(seed);
  const int = (): number => edges[rng.nextInt(edges.length)]! - rng.nextInt(2);
  for (let i = 0; i < 2_000; i++) {
    const modRevision = Math.max(1, int());
    const record = kv({
      key: Buffer.from(Array.from({ length: 1 + rng.nextInt(40) }, () => rng.nextInt(256))),
      createRevision: 1 + rng.nextInt(modRevision),
      modRevision,
      version: Math.max(1, int()),
      value: Buffer.alloc(rng.nextInt(600), rng.nextInt(256)),
      lease: Math.max(0, int()),
    });
    const bytes = encodeStoredVersion(record);
    t.deepEqual(bytes, Buffer.from(KeyValue.encode(record).finish()), `record ${i}`);
    t.deepEqual(decodeStoredVersion(revisionKey({ main: modRevision, sub: 0 }, false), bytes).kv, record, `record ${i}`);
  }
});
