/**
 * The receiver's install step alone, in one process: writes a snapshot stream of MB
 * megabytes of VALUE-byte values to a checksummed file (as a member receives it), then
 * imports it into a fresh engine with importSnapshot, sampling RssAnon and RssFile every
 * 100 ms. Prints the peaks: RssAnon is the memory the import allocates, RssFile the file
 * pages mapped into the process (LevelDB's table files, besides node and the engine's
 * libraries). Run it with the deployed allocator setting, as the members run:
 *   MALLOC_TRIM_THRESHOLD_=131072 npx tsx bench/snapshot-import-memory.ts [rocksdb|leveldb] [MB=256] [VALUE=1048576]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { importSnapshot } from '../server/mvcc/snapshot.js';
import { SnapshotEncoder } from '../server/mvcc/snapshot-format.js';
import { openEngine } from '../server/storage/open-engine.js';
import { readChecksummedFile } from '../server/streams/checksummed-file-reader.js';
import { ChecksummedFileWriter } from '../server/streams/checksummed-file-writer.js';

const engineName = (process.argv[2] ?? 'rocksdb') as 'rocksdb' | 'leveldb';
const totalMb = Number(process.argv[3] ?? 256);
const valueBytes = Number(process.argv[4] ?? 1024 * 1024);
const MiB = 1024 * 1024;

async function status(): Promise<Record<string, number>> {
  const text = await readFile('/proc/self/status', 'utf8');
  const out: Record<string, number> = {};
  for (const name of ['VmHWM', 'VmRSS', 'RssAnon', 'RssFile'])
    out[name] = Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
  return out;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-import-mem-'));
try {
  // The stream, as the sender would produce it ('k' keys), written straight to a file.
  const writer = await ChecksummedFileWriter.create(path.join(dir, 'snap.tmp'));
  const encoder = new SnapshotEncoder();
  await writer.write(encoder.header());
  const count = Math.ceil((totalMb * MiB) / valueBytes);
  const value = randomBytes(valueBytes);
  for (let i = 0; i < count; i++) {
    value.writeUInt32BE(i, 0);
    await writer.write(encoder.record(Buffer.from(`k${String(i).padStart(8, '0')}`), value));
  }
  await writer.write(encoder.trailer());
  const file = await writer.finish();
  const engine = await openEngine(engineName, path.join(dir, 'db'));
  const before = await status();
  let peakAnon = before.RssAnon!;
  let peakFile = before.RssFile!;
  const sampler = setInterval(() => {
    void status().then((s) => {
      peakAnon = Math.max(peakAnon, s.RssAnon!);
      peakFile = Math.max(peakFile, s.RssFile!);
    });
  }, 100);
  const start = performance.now();
  const { records } = await importSnapshot(engine, readChecksummedFile(file));
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  const after = await status();
  const m = process.memoryUsage();
  console.log(
    `${engineName} import of ${records} records (${(file.bytes / MiB).toFixed(0)} MiB) in ${seconds.toFixed(1)} s: ` +
      `RssAnon before ${before.RssAnon!.toFixed(0)} MiB, peak ${peakAnon.toFixed(0)} MiB (+${(peakAnon - before.RssAnon!).toFixed(0)}), ` +
      `after ${after.RssAnon!.toFixed(0)} MiB; RssFile before ${before.RssFile!.toFixed(0)} MiB, peak ${peakFile.toFixed(0)} MiB; VmHWM before ${before.VmHWM!.toFixed(0)} MiB, after ${after.VmHWM!.toFixed(0)} MiB; arrayBuffers ${(m.arrayBuffers / MiB).toFixed(0)} MiB`,
  );
  await engine.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
