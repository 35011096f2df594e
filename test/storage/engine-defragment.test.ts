/**
 * The engine's defragment on real engines: on LevelDB by CompactRange, on RocksDB by a copy
 * of the live data swapped in (storage/engine-rebuild.ts). Deleted space comes back, every
 * live entry stays; on RocksDB, reads go on during the copy, writes wait for the swap and
 * then land (synced writes through a WalSyncer of the new files, none left open on the old
 * ones), and scans begun before the swap finish after it with exactly the entries they owe.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRoomForCopy, NoRoomForCopyError, type RebuildStep } from '../../server/storage/engine-rebuild.js';
import { engineSizeInUse } from '../../server/storage/engine-size.js';
import type { ScanRange, StorageEngine } from '../../server/storage/engine.js';
import { engineLocation, openEngine } from '../../server/storage/open-engine.js';

const KEYS = 2000;
const VALUE_BYTES = 4 * 1024;

const key = (i: number): Buffer => Buffer.from(`k/${String(i).padStart(5, '0')}`);
/** One key in ten is kept. */
const kept = (i: number): boolean => i % 10 === 0;

async function fillAndDeleteMost(engine: StorageEngine): Promise<void> {
  for (let i = 0; i < KEYS; i += 100) {
    const ops = Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: randomBytes(VALUE_BYTES) }));
    await engine.write(ops, { sync: false });
  }
  const deletes = Array.from({ length: KEYS }, (_, i) => i)
    .filter((i) => !kept(i))
    .map((i) => ({ type: 'del' as const, key: key(i) }));
  await engine.write(deletes, { sync: true });
}

async function keysOf(engine: StorageEngine, range: ScanRange = {}): Promise<string[]> {
  const keys: string[] = [];
  for await (const [k] of engine.scan(range)) keys.push(k.toString());
  return keys;
}

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-defrag-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

for (const name of ['leveldb', 'rocksdb'] as const) {
  test(`${name}: defragment gives the space of deleted entries back and keeps every live one`, async (t) => {
    const dir = await tempDir(t);
    const engine = await openEngine(name, dir);
    t.teardown(() => engine.close().catch(() => undefined));
    await fillAndDeleteMost(engine);
    const location = engineLocation(name, dir);
    const before = await engineSizeInUse(location);
    const report = await engine.defragment!();
    const after = await engineSizeInUse(location);
    t.log(`${name}: ${before} -> ${after} bytes, ${JSON.stringify(report)}`);
    t.is(report.method, name === 'leveldb' ? 'compact-range' : 'copy');
    const keptBytes = (KEYS / 10) * VALUE_BYTES;
    t.true(after < keptBytes * 3, `${after} bytes after, ${keptBytes} bytes of live values`);
    const keys = await keysOf(engine);
    t.is(keys.length, KEYS / 10);
    t.deepEqual(
      keys,
      Array.from({ length: KEYS / 10 }, (_, i) => key(i * 10).toString()),
    );
  });
}

test('rocksdb: during the copy reads are served and writes wait; after the swap they land, synced, on the new files', async (t) => {
  const dir = await tempDir(t);
  const events: string[] = [];
  let write: Promise<void> | undefined;
  let engine: StorageEngine | undefined = undefined;
  engine = await openEngine('rocksdb', dir, undefined, {
    onRebuildStep: async (step: RebuildStep) => {
      events.push(step);
      if (step !== 'copying' || write !== undefined) return;
      // A read completes during the copy (the copy waits for it here)...
      const read = await engine!.get(key(0));
      events.push(`read ${read === undefined ? 'missing' : 'found'}`);
      // ...a write does not: it is held back until the copy is in place.
      write = engine!
        .write([{ type: 'put', key: Buffer.from('during'), value: Buffer.from('copy') }], { sync: true })
        .then(() => void events.push('write landed'));
    },
  });
  t.teardown(() => engine.close().catch(() => undefined));
  // Bigger values: the copy takes several batches, so there is a "copying" step.
  for (let i = 0; i < 3000; i += 100) {
    const ops = Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: randomBytes(8 * 1024) }));
    await engine.write(ops, { sync: false });
  }
  const report = await engine.defragment!();
  await write;
  t.log(`${JSON.stringify(report)}; events: ${events.join(', ')}`);
  t.is(events[1], 'read found');
  t.true(events.indexOf('write landed') > events.indexOf('old-removed'), events.join(', '));
  t.is((await engine.get(Buffer.from('during')))?.toString(), 'copy');
  t.is((await keysOf(engine, { gte: key(0), lt: Buffer.from('k0') })).length, 3000);

  // Synced writes go on through a WalSyncer of the new files: nothing of the old is held open.
  for (let i = 0; i < 20; i++)
    await engine.write([{ type: 'put', key: Buffer.from(`after/${i}`), value: Buffer.alloc(100, i) }], { sync: true });
  const open: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) open.push(await readlink(join('/proc/self/fd', fd)).catch(() => ''));
  const location = engineLocation('rocksdb', dir);
  t.true(
    open.some((target) => target.startsWith(`${location}/`) && target.endsWith('.log')),
    'the write-ahead log of the new files is open (for its syncs)',
  );
  const held = open.filter((target) => target.startsWith(dir) && (target.includes('.defrag-') || target.endsWith('(deleted)')));
  t.deepEqual(held, [], 'no file of the replaced database is held open');
  t.deepEqual(
    (await readdir(dir)).filter((n) => n.startsWith('rocksdb')),
    ['rocksdb'],
  );
});

test('rocksdb: scans begun before the swap finish after it with exactly the entries they owe', async (t) => {
  const dir = await tempDir(t);
  const engine = await openEngine('rocksdb', dir);
  t.teardown(() => engine.close().catch(() => undefined));
  await fillAndDeleteMost(engine);
  const ranges: ScanRange[] = [
    {},
    { reverse: true },
    { gte: key(100), lt: key(1500), limit: 50 },
    { gt: key(100), lte: key(1500), reverse: true, limit: 70 },
  ];
  const expected = await Promise.all(ranges.map((range) => keysOf(engine, range)));
  const scans = ranges.map((range) => engine.scan(range)[Symbol.asyncIterator]());
  const seen: string[][] = ranges.map(() => []);
  // Each scan takes a few entries, holding its iterator open on the old database.
  for (const [i, scan] of scans.entries()) {
    for (let n = 0; n < 7; n++) {
      const next = await scan.next();
      if (next.done !== true) seen[i]!.push(next.value[0].toString());
    }
  }
  t.is((await engine.defragment!()).method, 'copy');
  for (const [i, scan] of scans.entries()) {
    for (let next = await scan.next(); next.done !== true; next = await scan.next()) seen[i]!.push(next.value[0].toString());
  }
  t.deepEqual(seen, expected);
});

test('a copy the disk has no room for is refused before anything is written, naming the numbers', async (t) => {
  const dir = await tempDir(t);
  const location = engineLocation('rocksdb', dir);
  const err = await t.throwsAsync(checkRoomForCopy(location, 2 ** 52), { instanceOf: NoRoomForCopyError });
  t.regex(
    err.message,
    /not enough free disk space to defragment .*rocksdb: the copy of its live data \(about 4503599627370496 bytes\) needs \d+ bytes free beside it and \d+ are/,
  );
  t.deepEqual(await readdir(dir), []);
});
