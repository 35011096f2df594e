/**
 * The engine's size in use (storage/engine-size.ts), which the space quota measures, and
 * the in-place compaction (the engine's compactAll) that gives deleted data's space
 * back: on LevelDB, writing then deleting a few MiB and compacting brings the size back
 * down; RocksDB's binding cannot be asked and says so.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineSizeInUse } from '../../server/storage/engine-size.js';
import { engineLocation, openEngine } from '../../server/storage/open-engine.js';

const KEYS = 256;
const VALUE_BYTES = 16 * 1024;

for (const engine of ['leveldb', 'rocksdb'] as const) {
  test(`${engine}: the size in use grows with the data; compacting on demand ${engine === 'leveldb' ? 'gives deleted space back' : 'is not available'}`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-engine-size-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const db = await openEngine(engine, dir);
    t.teardown(() => db.close().catch(() => undefined));
    const location = engineLocation(engine, dir);
    const empty = await engineSizeInUse(location);
    const key = (i: number): Buffer => Buffer.from(`k/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < KEYS; i++) await db.write([{ type: 'put', key: key(i), value: randomBytes(VALUE_BYTES) }], { sync: false });
    const full = await engineSizeInUse(location);
    t.true(full - empty >= KEYS * VALUE_BYTES, `${KEYS * VALUE_BYTES} bytes written, size grew from ${empty} to ${full}`);
    await db.write(
      Array.from({ length: KEYS }, (_, i) => ({ type: 'del' as const, key: key(i) })),
      { sync: true },
    );
    const compacted = await db.compactAll!();
    const after = await engineSizeInUse(location);
    if (engine === 'leveldb') {
      t.true(compacted);
      t.true(after < (KEYS * VALUE_BYTES) / 4, `deleted and compacted: ${after} bytes left of ${full}`);
    } else {
      t.false(compacted, "RocksDB's binding has no CompactRange");
    }
  });
}
