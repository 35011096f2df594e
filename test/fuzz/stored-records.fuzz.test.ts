// Fuzz targets: every record a member reads back from its own disk. Raft log records
// (checksummed), MVCC versions and counters, and the proposals inside committed entries.
// Random and mutated-valid bytes must be refused with a StorageIntegrityError naming the
// record (the member then refuses to start), or, for mutations, decode to exactly the
// original (a mutation the format cannot see, e.g. past the end of a proto). Never a crash,
// an InvariantError or a silently different value.
import test from 'ava';
import fc from 'fast-check';
import { Proposal } from '../../gen/ts/cairn/internal/v1/command.js';
import { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { decodeProposal } from '../../server/apply/proposal-codec.js';
import { decodeCounter, encodeCounter, revisionKey } from '../../server/mvcc/schema.js';
import { decodeStoredVersion } from '../../server/mvcc/stored-version.js';
import type { Entry, HardState } from '../../server/raft/types.js';
import {
  decodeEntry,
  decodeHardState,
  decodeLogStart,
  decodeSnapshotMeta,
  encodeEntry,
  encodeHardState,
  encodeLogStart,
  encodeSnapshotMeta,
} from '../../server/storage/raft-log-codec.js';
import { StorageIntegrityError } from '../../server/storage/storage-error.js';
import { mutationArb, uintArb } from './arbitraries.js';
import { fuzzParams, mutate, type Mutation } from './fuzz-params.js';

/** Runs a decoder; a StorageIntegrityError with a message is a refusal, anything else thrown fails the property. */
function decodeOrRefuse<T>(decode: () => T): { value: T } | { refused: StorageIntegrityError } {
  try {
    return { value: decode() };
  } catch (err) {
    if (err instanceof StorageIntegrityError && err.message !== '') return { refused: err };
    throw new Error(`decoder threw something other than a StorageIntegrityError: ${String(err)}`, { cause: err });
  }
}

/** A record codec under test: how to make valid ones, encode, decode and compare. */
interface RecordTarget<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  encode(v: T): Buffer;
  decode(b: Buffer, v: T): unknown;
  /** What decoding the unmutated record yields, for comparison. */
  canonical(v: T): unknown;
  /** Unchecksummed records may decode mutated bytes to another value that passes every check. */
  checksummed: boolean;
}

const entryArb: fc.Arbitrary<Entry> = fc.record({
  index: uintArb,
  term: uintArb,
  type: fc.constantFrom('normal' as const, 'conf-change' as const),
  data: fc.uint8Array({ maxLength: 64 }),
});
const hardStateArb: fc.Arbitrary<HardState> = fc.record({ term: uintArb, vote: uintArb, commit: uintArb });
const snapMetaArb = fc.record({
  index: uintArb,
  term: uintArb,
  confState: fc.record({ voters: fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 5 }) }),
});

const normEntry = (e: Entry): unknown => ({ ...e, data: Buffer.from(e.data) });

const raftTargets: RecordTarget<never>[] = [
  {
    name: 'raft log entry',
    arb: entryArb,
    encode: encodeEntry,
    decode: (b: Buffer, e: Entry) => normEntry(decodeEntry(b, e.index)),
    canonical: normEntry,
    checksummed: true,
  } satisfies RecordTarget<Entry>,
  {
    name: 'raft hard state',
    arb: hardStateArb,
    encode: encodeHardState,
    decode: (b: Buffer) => decodeHardState(b),
    canonical: (v: HardState) => v,
    checksummed: true,
  } satisfies RecordTarget<HardState>,
  {
    name: 'raft snapshot metadata',
    arb: snapMetaArb,
    encode: encodeSnapshotMeta,
    decode: (b: Buffer) => decodeSnapshotMeta(b),
    canonical: (v: unknown) => v,
    checksummed: true,
  } satisfies RecordTarget<{ index: number; term: number; confState: { voters: number[] } }>,
  {
    name: 'raft log start',
    arb: fc.record({ index: uintArb, term: uintArb }),
    encode: encodeLogStart,
    decode: (b: Buffer) => decodeLogStart(b),
    canonical: (v: unknown) => v,
    checksummed: true,
  } satisfies RecordTarget<{ index: number; term: number }>,
] as unknown as RecordTarget<never>[];

/** One stored MVCC version: its key (revision, tombstone mark) and its KeyValue. */
interface Version {
  main: number;
  sub: number;
  tombstone: boolean;
  kv: KeyValue;
}
const versionArb: fc.Arbitrary<Version> = fc
  .record({
    main: fc.integer({ min: 1, max: 2 ** 40 }),
    sub: fc.nat({ max: 100 }),
    tombstone: fc.boolean(),
    key: fc.uint8Array({ minLength: 1, maxLength: 32 }),
    value: fc.uint8Array({ maxLength: 64 }),
    version: fc.integer({ min: 1, max: 1000 }),
    createBack: fc.nat({ max: 1000 }),
    lease: fc.nat(),
  })
  .map(({ main, sub, tombstone, key, value, version, createBack, lease }) => ({
    main,
    sub,
    tombstone,
    kv: tombstone
      ? KeyValue.fromPartial({ key: Buffer.from(key), modRevision: main })
      : KeyValue.fromPartial({
          key: Buffer.from(key),
          value: Buffer.from(value),
          modRevision: main,
          createRevision: Math.max(1, main - createBack),
          version,
          lease,
        }),
  }));

function versionRecord(v: Version): Buffer {
  return Buffer.concat([revisionKey({ main: v.main, sub: v.sub }, v.tombstone), Buffer.from(KeyValue.encode(v.kv).finish())]);
}
const KEY_BYTES = 17;

/** Decodes a key+value record as the store reads it (key and value split where the key ends). */
function decodeVersionRecord(b: Buffer, keyBytes: number): unknown {
  const { rev, tombstone, kv } = decodeStoredVersion(b.subarray(0, keyBytes), b.subarray(keyBytes));
  return { rev, tombstone, kv };
}

test('raft log records: valid ones round-trip', (t) => {
  for (const target of raftTargets) {
    fc.assert(
      fc.property(target.arb, (v) => {
        const got = decodeOrRefuse(() => target.decode(target.encode(v), v));
        if (!('value' in got)) throw got.refused;
        t.deepEqual(got.value, target.canonical(v), target.name);
      }),
      fuzzParams(t, import.meta.url, 100),
    );
  }
});

test('raft log records: random bytes are refused with a StorageIntegrityError', (t) => {
  for (const target of raftTargets) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), fc.nat(), (bytes, index) => {
        // Without knowing the CRC a random record passes only with probability 2^-32.
        const got = decodeOrRefuse(() => target.decode(Buffer.from(bytes), { index } as never));
        if ('value' in got) throw new Error(`${target.name}: random bytes ${Buffer.from(bytes).toString('hex')} accepted`);
      }),
      fuzzParams(t, import.meta.url, 300),
    );
  }
  t.pass();
});

test('raft log records: mutated valid records are refused or decode to the original', (t) => {
  for (const target of raftTargets) {
    fc.assert(
      fc.property(target.arb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (v, mutations: Mutation[]) => {
        const valid = target.encode(v);
        const bytes = mutations.reduce<Buffer>((b, m) => mutate(b, m), valid);
        const got = decodeOrRefuse(() => target.decode(bytes, v));
        if ('value' in got) t.deepEqual(got.value, target.canonical(v), `${target.name}: a damaged record decoded to another value`);
      }),
      fuzzParams(t, import.meta.url, 300),
    );
  }
  t.pass();
});

test('MVCC versions: valid ones round-trip; random and mutated bytes are refused or pass every check', (t) => {
  fc.assert(
    fc.property(versionArb, (v) => {
      const got = decodeOrRefuse(() => decodeVersionRecord(versionRecord(v), v.tombstone ? KEY_BYTES + 1 : KEY_BYTES));
      if (!('value' in got)) throw got.refused;
      t.deepEqual(got.value, { rev: { main: v.main, sub: v.sub }, tombstone: v.tombstone, kv: v.kv });
    }),
    fuzzParams(t, import.meta.url, 200),
  );
  // MVCC values carry no checksum of their own (the engine checksums its blocks): a
  // mutation may yield another well-formed version, but never an exception other than a
  // StorageIntegrityError, nor a version that contradicts its own key.
  fc.assert(
    fc.property(
      fc.oneof(
        fc
          .tuple(fc.uint8Array({ maxLength: 96 }), fc.integer({ min: 0, max: 20 }))
          .map(([b, k]) => ({ bytes: Buffer.from(b), keyBytes: k })),
        fc.tuple(versionArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([v, ms]) => ({
          bytes: ms.reduce<Buffer>((b, m) => mutate(b, m), versionRecord(v)),
          keyBytes: v.tombstone ? KEY_BYTES + 1 : KEY_BYTES,
        })),
      ),
      ({ bytes, keyBytes }) => {
        const got = decodeOrRefuse(() => decodeStoredVersion(bytes.subarray(0, keyBytes), bytes.subarray(keyBytes)));
        if ('value' in got) {
          const { rev, tombstone, kv } = got.value;
          if (kv.modRevision !== rev.main || kv.key.length === 0) throw new Error('accepted a version contradicting its key');
          if (!tombstone && (kv.createRevision < 1 || kv.createRevision > rev.main || kv.version < 1))
            throw new Error('accepted impossible version');
        }
      },
    ),
    fuzzParams(t, import.meta.url, 1000),
  );
  t.pass();
});

test('MVCC counters: only 8-byte safe integers are accepted', (t) => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.maxSafeNat().map((n) => encodeCounter(n)),
        fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
      ),
      (bytes) => {
        const got = decodeOrRefuse(() => decodeCounter(bytes, 'fuzzed counter'));
        if ('value' in got) {
          if (bytes.length !== 8 || !Number.isSafeInteger(got.value)) throw new Error(`accepted ${bytes.toString('hex')}`);
          t.true(encodeCounter(got.value).equals(bytes));
        }
      },
    ),
    fuzzParams(t, import.meta.url, 500),
  );
  t.pass();
});

test('proposals in committed entries: random and mutated bytes are refused or carry a command', (t) => {
  const valid = fc
    .record({
      memberId: fc.nat(),
      id: fc.nat(),
      key: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      value: fc.uint8Array({ maxLength: 32 }),
    })
    .map(({ memberId, id, key, value }) =>
      Proposal.encode(
        Proposal.fromPartial({
          memberId,
          id,
          command: { request: { $case: 'put', put: { key: Buffer.from(key), value: Buffer.from(value) } } },
        }),
      ).finish(),
    );
  let refused = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 128 }),
        fc
          .tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
          .map(([b, ms]) => ms.reduce<Uint8Array>((x, m) => mutate(x, m), b)),
      ),
      fc.nat(),
      (bytes, index) => {
        const got = decodeOrRefuse(() => decodeProposal(bytes, index));
        if ('value' in got) {
          if (got.value.command === undefined) throw new Error('a proposal without a command was accepted');
        } else {
          refused++;
          if (!got.refused.message.includes(`entry ${index}`)) throw new Error(`refusal does not name the entry: ${got.refused.message}`);
        }
      },
    ),
    fuzzParams(t, import.meta.url, 1000),
  );
  t.log(`${refused} refused`);
  t.pass();
});
