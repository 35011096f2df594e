/**
 * WalSyncer: RocksDB's synced writes made durable off the event loop. What can be checked
 * without pulling the power: a synced write's record is in the log file (in the kernel's
 * hands) when the write returns, concurrent syncs share rounds and resolve in order, the
 * engine survives log rollover and reopening with every synced write, and a failed round
 * poisons the syncer for good (fail-stop); and what lets a round skip listing the log
 * directory: RocksDB makes no new log file without changing its super version number, and
 * the syncer lists (and opens new log files) again whenever that number changed.
 */
import test from 'ava';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_ENGINE_MEMORY, engineLocation, openEngine } from '../../server/storage/open-engine.js';
import { RocksLevel } from '@nxtedition/rocksdb';
import type { AbstractLevelLike } from '../../server/storage/abstract-level-like.js';
import { logGeneration, WalSyncer } from '../../server/storage/wal-syncer.js';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'cairn-wal-sync-'));
}

test('a synced RocksDB write is in the write-ahead log file when it resolves, and survives a reopen', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const engine = await openEngine('rocksdb', dir);
  const marker = Buffer.from(`marker-${process.pid}-${Date.now()}`);
  await engine.write([{ type: 'put', key: Buffer.from('k'), value: marker }], { sync: true });
  const location = engineLocation('rocksdb', dir);
  const logs = (await readdir(location)).filter((n) => /^\d+\.log$/.test(n));
  t.true(logs.length > 0, 'a write-ahead log file exists');
  const contents = await Promise.all(logs.map((n) => readFile(path.join(location, n))));
  t.true(
    contents.some((c) => c.includes(marker)),
    'the record was handed to the kernel before the write resolved',
  );
  await engine.close();
  const reopened = await openEngine('rocksdb', dir);
  t.deepEqual(await reopened.get(Buffer.from('k')), marker);
  await reopened.close();
});

test('many concurrent synced writes across log rollovers all resolve, in order, and all are read back after a reopen', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A small memtable budget makes RocksDB switch to new log files during the run.
  const memory = { ...DEFAULT_ENGINE_MEMORY, cacheBytes: 1024 * 1024, memtableBytes: 1024 * 1024 };
  const engine = await openEngine('rocksdb', dir, memory);
  const value = Buffer.alloc(4096, 7);
  const resolved: number[] = [];
  const COUNT = 2000;
  const WAVE = 100;
  const logFilesSeen = new Set<string>();
  // Waves of concurrent writes, the log directory listed after each, to see the switches.
  for (let wave = 0; wave < COUNT / WAVE; wave++) {
    const writes: Promise<void>[] = [];
    for (let i = wave * WAVE; i < (wave + 1) * WAVE; i++) {
      const key = Buffer.from(`key/${String(i).padStart(5, '0')}`);
      writes.push(engine.write([{ type: 'put', key, value }], { sync: true }).then(() => void resolved.push(i)));
    }
    await Promise.all(writes);
    for (const name of await readdir(engineLocation('rocksdb', dir))) if (/^\d+\.log$/.test(name)) logFilesSeen.add(name);
  }
  t.true(logFilesSeen.size > 1, `RocksDB switched log files during the run (saw ${[...logFilesSeen].join(', ')})`);
  t.deepEqual(
    resolved,
    Array.from({ length: COUNT }, (_, i) => i),
    'synced writes resolve in the order they were made',
  );
  await engine.close();
  const reopened = await openEngine('rocksdb', dir, memory);
  let found = 0;
  for await (const [, v] of reopened.scan({ gte: Buffer.from('key/'), lt: Buffer.from('key0') })) {
    if (v.equals(value)) found++;
  }
  await reopened.close();
  t.is(found, COUNT);
});

test('syncs asked for while a round runs share the next round, and resolve in the order asked', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const syncer = new WalSyncer(dir);
  const order: number[] = [];
  const first = syncer.sync().then(() => order.push(0));
  const waiting = [1, 2, 3].map((i) => syncer.sync().then(() => order.push(i)));
  await Promise.all([first, ...waiting]);
  t.deepEqual(order, [0, 1, 2, 3]);
  await syncer.close();
});

test('a failed round fails every later sync with the same error, even once the cause is gone (fail-stop)', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const logs = path.join(dir, 'logs');
  await mkdir(logs);
  const syncer = new WalSyncer(logs);
  await syncer.sync();
  await rm(logs, { recursive: true });
  const failure = await t.throwsAsync(syncer.sync());
  await mkdir(logs);
  const later = await t.throwsAsync(syncer.sync());
  t.is(later, failure, 'no sync succeeds after one failed: the kernel may have dropped what it could not write');
  await syncer.close();
});

const isLogFile = (name: string): boolean => /^\d+\.log$/.test(name);

test('RocksDB makes no new log file without a new super version number (what lets the syncer skip listing)', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // Cairn's options with a small memtable budget: the log switches every few hundred writes.
  const db = new RocksLevel(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    compaction: 'level',
    memtableMemoryBudget: 1024 * 1024,
  }) as unknown as AbstractLevelLike;
  await db.open();
  t.teardown(() => db.close());
  let generation = logGeneration(db);
  t.not(generation, undefined, 'the binding reports the super version number');
  let logs = new Set((await readdir(dir)).filter(isLogFile));
  let newLogs = 0;
  for (let i = 0; i < 8000; i++) {
    const batch = db.batch();
    for (let j = 0; j < 4; j++) batch.put(Buffer.from(`k/${i}/${j}`), Buffer.alloc(300, j));
    await batch.write({ sync: false });
    const now = logGeneration(db);
    const present = new Set((await readdir(dir)).filter(isLogFile));
    const made = [...present].filter((name) => !logs.has(name));
    if (made.length > 0) {
      newLogs++;
      t.not(now, generation, `log ${made.join(', ')} appeared after write ${i} with the super version unchanged`);
    }
    generation = now;
    logs = present;
  }
  t.true(newLogs >= 3, `RocksDB switched log files during the run (${newLogs} times)`);
});

/** The log files of `dir` this process holds open, from /proc/self/fd. */
async function openLogFiles(dir: string): Promise<string[]> {
  const held: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(path.join('/proc/self/fd', fd)).catch(() => '');
    if (path.dirname(target) === dir && isLogFile(path.basename(target))) held.push(path.basename(target));
  }
  return held.sort();
}

test('a round lists the log files again only when the log generation changed, and then syncs the new ones', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, '000001.log'), 'a');
  let generation = '1';
  const syncer = new WalSyncer(dir, () => generation);
  t.teardown(() => syncer.close());
  await syncer.sync();
  t.deepEqual(await openLogFiles(dir), ['000001.log']);
  await writeFile(path.join(dir, '000002.log'), 'b');
  await syncer.sync();
  t.deepEqual(await openLogFiles(dir), ['000001.log'], 'same generation: the listing of the last round stands');
  generation = '2';
  await syncer.sync();
  t.deepEqual(await openLogFiles(dir), ['000001.log', '000002.log'], 'a new generation: listed again, the new log held and synced');
  await rm(path.join(dir, '000001.log'));
  generation = '3';
  await syncer.sync();
  t.deepEqual(await openLogFiles(dir), ['000002.log'], 'a retired log is let go at the next listing');
});

test('without a log generation every round lists the log files', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, '000001.log'), 'a');
  const syncer = new WalSyncer(dir);
  t.teardown(() => syncer.close());
  await syncer.sync();
  await writeFile(path.join(dir, '000002.log'), 'b');
  await syncer.sync();
  t.deepEqual(await openLogFiles(dir), ['000001.log', '000002.log']);
});
