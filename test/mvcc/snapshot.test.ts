/**
 * State-machine snapshots: exported from one engine, imported into the other, the MVCC
 * store must come back identical; a damaged stream must be refused with the target untouched.
 */
import test, { type ExecutionContext } from 'ava';
import { RangeRequest } from '../../gen/ts/cairn/v1/kv.js';
import { ENGINE_NAMES, type EngineName } from '../../server/config.js';
import { MvccStore } from '../../server/mvcc/kv-store.js';
import { exportSnapshot, importSnapshot, recoverSnapshotImport } from '../../server/mvcc/snapshot.js';
import type { BatchOp, ScanRange, StorageEngine } from '../../server/storage/engine.js';
import { IMPORT_MARKER_KEY } from '../../server/storage/reserved-keys.js';
import { StorageErrorCode, StorageIntegrityError } from '../../server/storage/storage-error.js';
import { TestStore } from '../helpers/mvcc-store.js';

/** Every key of the database (all keyspaces), hex-encoded, for exact comparisons. */
async function dumpAll(engine: StorageEngine): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [k, v] of engine.scan({})) out.push([k.toString('hex'), v.toString('hex')]);
  return out;
}

const stateOnly = (rows: [string, string][]): [string, string][] => rows.filter(([k]) => k.startsWith('6b') || k.startsWith('6d'));

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

async function* stream(...buffers: Buffer[]): AsyncIterable<Buffer> {
  for (const b of buffers) yield b;
}

/** The same bytes in awkward pieces, so frames straddle chunk boundaries. */
async function* rechunk(data: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** A store with history: overwrites, deletes, a finished compaction and writes after it. */
async function sourceStore(name: EngineName): Promise<TestStore> {
  const s = await TestStore.create(name);
  for (let i = 0; i < 30; i++) await s.put(`key/${i % 7}`, `v${i}`);
  await s.del('key/3');
  await s.del('key/5', 'key/7');
  const { header } = await s.put('other', 'x'.repeat(3000));
  await s.compact(header!.revision - 5);
  await s.store.compactionSettled(header!.revision - 5);
  await s.put('after', 'compaction');
  await s.del('key/0');
  return s;
}

/** Everything a reader can observe of a store, at the current and at older revisions. */
async function observe(store: MvccStore): Promise<unknown> {
  const all = async (revision: number) => {
    try {
      const r = await store.range(RangeRequest.fromPartial({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), revision }));
      return { count: r.count, kvs: r.kvs.map((kv) => ({ ...kv, key: kv.key.toString(), value: kv.value.toString() })) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const { currentRevision: current, compactedRevision: compacted } = store;
  return {
    current,
    compacted,
    consistentIndex: store.consistentIndex,
    now: await all(0),
    atCompacted: await all(compacted),
    belowCompacted: await all(compacted - 1),
    between: await all(compacted + 2),
  };
}

/** Delegates to a real engine, failing writes once `failAfter` more have succeeded. */
class FailingEngine implements StorageEngine {
  readonly name: string;
  failAfter = Infinity;
  constructor(private readonly inner: StorageEngine) {
    this.name = inner.name;
  }
  get(key: Buffer) {
    return this.inner.get(key);
  }
  getMany(keys: Buffer[]) {
    return this.inner.getMany(keys);
  }
  scan(range: ScanRange) {
    return this.inner.scan(range);
  }
  async write(ops: BatchOp[], options: { sync: boolean }): Promise<void> {
    if (this.failAfter-- <= 0) throw new Error('simulated crash');
    return this.inner.write(ops, options);
  }
  close() {
    return this.inner.close();
  }
}

/** A target store holding other data, closed so its engine can be replaced underneath. */
async function targetStore(name: EngineName): Promise<TestStore> {
  const s = await TestStore.create(name);
  await s.put('stale', 'must vanish');
  await s.put('key/1', 'old');
  await s.writer.close();
  await s.store.close();
  return s;
}

async function refused(t: ExecutionContext, target: TestStore, chunks: AsyncIterable<Buffer>, message: RegExp): Promise<void> {
  const before = await dumpAll(target.engine);
  const err = await t.throwsAsync(importSnapshot(target.engine, chunks), { instanceOf: StorageIntegrityError, message });
  t.is(err?.code, StorageErrorCode.CorruptSnapshot);
  t.deepEqual(await dumpAll(target.engine), before, 'target untouched, no staging left behind');
}

for (const from of ENGINE_NAMES) {
  const to = ENGINE_NAMES.find((n) => n !== from)!;

  test(`${from} -> ${to}: an imported snapshot reproduces the store exactly`, async (t) => {
    const source = await sourceStore(from);
    const target = await targetStore(to);
    try {
      const chunks = await collect(exportSnapshot(source.engine, { chunkBytes: 128 }));
      t.true(chunks.length > 3, `streamed in several chunks (${chunks.length})`);
      const { records } = await importSnapshot(target.engine, rechunk(Buffer.concat(chunks), 7), { chunkBytes: 1024 });
      t.is(records, stateOnly(await dumpAll(source.engine)).length);
      t.deepEqual(await dumpAll(target.engine), stateOnly(await dumpAll(source.engine)), 'byte-identical state, nothing else left');
      target.store = await MvccStore.open(target.engine);
      const expected = await observe(source.store);
      t.deepEqual(await observe(target.store), expected);
      t.true(source.store.compactedRevision > 0);
      t.regex(JSON.stringify(expected), /has been compacted/);
    } finally {
      await source.destroy();
      await target.destroy();
    }
  });
}

for (const name of ENGINE_NAMES) {
  test(`${name}: an empty store exports and imports`, async (t) => {
    const source = await TestStore.create(name);
    const target = await targetStore(name);
    try {
      t.deepEqual(await importSnapshot(target.engine, exportSnapshot(source.engine)), { records: 0 });
      t.deepEqual(await dumpAll(target.engine), []);
      target.store = await MvccStore.open(target.engine);
      t.is(target.store.currentRevision, 1, 'a store nothing was written to is at revision 1, as etcd');
    } finally {
      await source.destroy();
      await target.destroy();
    }
  });

  test(`${name}: corrupted, truncated or malformed streams are refused and change nothing`, async (t) => {
    const source = await sourceStore(name);
    const target = await targetStore(name);
    try {
      const good = Buffer.concat(await collect(exportSnapshot(source.engine)));
      const flipped = Buffer.from(good);
      flipped[Math.floor(good.length / 2)]! ^= 0x10;
      await refused(t, target, rechunk(flipped, 100), /checksum mismatch|implausible|unknown frame tag|stream truncated/);
      const valueBit = Buffer.from(good);
      valueBit[good.length - 20]! ^= 0x01; // inside the last record's value: only the checksum can tell
      await refused(t, target, stream(valueBit), /checksum mismatch/);
      await refused(t, target, stream(good.subarray(0, good.length - 5)), /stream truncated in trailer/);
      await refused(t, target, stream(good.subarray(0, good.length - 13)), /stream truncated in record/);
      await refused(t, target, stream(good.subarray(0, 5)), /stream truncated in header/);
      await refused(t, target, stream(good, Buffer.from([0])), /unexpected bytes after the trailer/);
      const version = Buffer.from(good);
      version.writeUInt32BE(99, 8);
      await refused(t, target, stream(version), /unsupported snapshot format version 99/);
      await refused(t, target, stream(Buffer.from('not a snapshot at all')), /bad magic/);
    } finally {
      await source.destroy();
      await target.destroy();
    }
  });

  test(`${name}: an import cut short after validation is completed at the next start`, async (t) => {
    const source = await sourceStore(name);
    const target = await targetStore(name);
    try {
      const good = Buffer.concat(await collect(exportSnapshot(source.engine)));
      const crashing = new FailingEngine(target.engine);
      // Staging takes a few writes, then the marker; fail while replacing the state.
      crashing.failAfter = 4;
      await t.throwsAsync(importSnapshot(crashing, stream(good), { chunkBytes: 2048 }), { message: 'simulated crash' });
      t.not(await target.engine.get(IMPORT_MARKER_KEY), undefined, 'the import was decided before the crash');
      await t.throwsAsync(importSnapshot(target.engine, stream(good)), { message: /interrupted snapshot import/ });
      t.is(await recoverSnapshotImport(target.engine), 'completed');
      t.is(await recoverSnapshotImport(target.engine), 'none');
      t.deepEqual(await dumpAll(target.engine), stateOnly(await dumpAll(source.engine)));
      target.store = await MvccStore.open(target.engine);
      t.deepEqual(await observe(target.store), await observe(source.store));
    } finally {
      await source.destroy();
      await target.destroy();
    }
  });

  test(`${name}: staging left by a crash before validation finished is discarded at start`, async (t) => {
    const source = await sourceStore(name);
    const target = await targetStore(name);
    try {
      const before = await dumpAll(target.engine);
      const good = Buffer.concat(await collect(exportSnapshot(source.engine)));
      const crashing = new FailingEngine(target.engine);
      crashing.failAfter = 2; // the staging cleanup on failure fails too: a crash mid-staging
      await t.throwsAsync(importSnapshot(crashing, stream(good), { chunkBytes: 1024 }), { message: 'simulated crash' });
      t.notDeepEqual(await dumpAll(target.engine), before, 'staged records were left behind');
      t.is(await recoverSnapshotImport(target.engine), 'discarded');
      t.deepEqual(await dumpAll(target.engine), before);
    } finally {
      await source.destroy();
      await target.destroy();
    }
  });
}
