/**
 * A write leaves nothing behind in the engine: @nxtedition/rocksdb 12.x's array-form batch
 * (and its put/del) writes a chained batch it never closes, which stays in the database's
 * resource set with its native WriteBatch, every byte written, until the database closes
 * (about 300 MB held after 256 MiB of writes; bench/engine-memory.ts). The engine writes
 * through chained batches, which close on write; this checks the binding's resource set
 * (abstract-level's, where an open batch or iterator is kept) is empty after writes, synced
 * or not, puts and deletes, and after a scan. (classic-level's abstract-level 3 keeps its set
 * in a private field, and its array-form batch is native, never a chained one.)
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksLevel } from '@nxtedition/rocksdb';
import { AbstractLevelEngine, type AbstractLevelLike } from '../../server/storage/abstract-level-engine.js';

const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

/** abstract-level's set of open resources (batches, iterators) that close() waits for. */
function openResources(db: object): number {
  const symbol = Object.getOwnPropertySymbols(db).find((s) => s.description === 'resources');
  if (symbol === undefined) throw new Error('abstract-level keeps no resource set: this test needs updating');
  return ((db as Record<symbol, Set<unknown>>)[symbol] ?? new Set()).size;
}

test('rocksdb: writes and scans leave no batch or iterator open in the binding', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-batch-release-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const db = new RocksLevel(dir, BUFFERS) as unknown as AbstractLevelLike;
  await db.open();
  const engine = new AbstractLevelEngine('rocksdb', db);
  t.teardown(() => engine.close().catch(() => undefined));
  t.is(openResources(db), 0);
  for (let i = 0; i < 20; i++) {
    const key = Buffer.from(`k/${String(i).padStart(3, '0')}`);
    await engine.write([{ type: 'put', key, value: Buffer.alloc(1024, i) }], { sync: i % 2 === 0 });
  }
  await engine.write([{ type: 'del', key: Buffer.from('k/000') }], { sync: false });
  t.is(openResources(db), 0, 'every batch written was closed');
  let seen = 0;
  for await (const [key, value] of engine.scan({ gte: Buffer.from('k/'), lt: Buffer.from('k0') })) {
    t.is(value.length, 1024, key.toString());
    seen++;
  }
  t.is(seen, 19, 'the puts and the delete all landed');
  t.is(openResources(db), 0, 'the scan closed its iterator');
});
