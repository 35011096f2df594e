/**
 * What a defragment costs (issue 14): opens an engine with openEngine, writes DELETED_MB of
 * deleted data and LIVE_MB of live data (VALUE-byte values, deleted ones interleaved with
 * live ones), then defragments while a writer keeps sending small synced writes, and prints
 * the engine's size before and after, the defragment's duration, how long writes were held
 * back (the engine's own measure) and the longest synced write the writer saw.
 *   npx tsx bench/engine-defragment.ts [rocksdb|leveldb] [DELETED_MB=200] [LIVE_MB=20] [VALUE=4096]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { engineSizeInUse } from '../server/storage/engine-size.js';
import { engineLocation, openEngine } from '../server/storage/open-engine.js';

const engineName = (process.argv[2] ?? 'rocksdb') as 'rocksdb' | 'leveldb';
const deletedMb = Number(process.argv[3] ?? 200);
const liveMb = Number(process.argv[4] ?? 20);
const valueBytes = Number(process.argv[5] ?? 4096);

const MiB = 1024 * 1024;
const BATCH = 256;
const total = Math.ceil(((deletedMb + liveMb) * MiB) / valueBytes);
/** Key i is live when it falls in the live share, spread over the whole key space. */
const isLive = (i: number): boolean =>
  Math.floor((i * liveMb) / (deletedMb + liveMb)) !== Math.floor(((i + 1) * liveMb) / (deletedMb + liveMb));
const key = (i: number): Buffer => Buffer.from(`k/${String(i).padStart(9, '0')}`);

const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-defrag-'));
try {
  const engine = await openEngine(engineName, dir);
  const location = engineLocation(engineName, dir);
  for (let i = 0; i < total; i += BATCH) {
    const ops = [];
    // Random values, so that compression does not hide the size.
    for (let j = i; j < Math.min(total, i + BATCH); j++) ops.push({ type: 'put' as const, key: key(j), value: randomBytes(valueBytes) });
    await engine.write(ops, { sync: false });
  }
  for (let i = 0; i < total; i += BATCH) {
    const ops = [];
    for (let j = i; j < Math.min(total, i + BATCH); j++) if (!isLive(j)) ops.push({ type: 'del' as const, key: key(j) });
    if (ops.length > 0) await engine.write(ops, { sync: false });
  }
  await engine.write([{ type: 'put', key: Buffer.from('w/start'), value: Buffer.from('x') }], { sync: true });
  // RocksDB compacts some of the deleted data away by itself as the deletes flow: what is
  // left for the defragment is what the size before shows.
  const before = await engineSizeInUse(location);
  let writing = true;
  let longestWriteMs = 0;
  let writes = 0;
  const writer = (async () => {
    while (writing) {
      const started = performance.now();
      await engine.write([{ type: 'put', key: Buffer.from(`w/${writes % 1000}`), value: randomBytes(100) }], { sync: true });
      longestWriteMs = Math.max(longestWriteMs, performance.now() - started);
      writes++;
    }
  })();
  const started = performance.now();
  const report = await engine.defragment!();
  const durationMs = performance.now() - started;
  writing = false;
  await writer;
  const after = await engineSizeInUse(location);
  console.log(
    JSON.stringify({
      engine: engineName,
      deletedMb,
      liveMb,
      valueBytes,
      sizeBeforeMiB: +(before / MiB).toFixed(1),
      sizeAfterMiB: +(after / MiB).toFixed(1),
      durationMs: Math.round(durationMs),
      ...report,
      longestSyncedWriteMs: Math.round(longestWriteMs),
      syncedWritesDuring: writes,
      loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    }),
  );
  await engine.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
