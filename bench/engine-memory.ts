/**
 * Where an engine's memory goes: opens an engine with openEngine, writes MB megabytes of
 * VALUE-byte values, scans them back, and prints process.memoryUsage() and VmRSS after each
 * step (and after gc() when run with --expose-gc), then after close.
 *   npx tsx bench/engine-memory.ts [rocksdb|leveldb] [MB=256] [VALUE=1048576] [BATCH=8]
 * Run it under different allocators (MALLOC_ARENA_MAX=1, LD_PRELOAD=libjemalloc.so.2) to
 * separate allocator retention from what the engine holds.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine } from '../server/storage/open-engine.js';

const engineName = (process.argv[2] ?? 'rocksdb') as 'rocksdb' | 'leveldb';
const totalMb = Number(process.argv[3] ?? 256);
const valueBytes = Number(process.argv[4] ?? 1024 * 1024);
const batchSize = Number(process.argv[5] ?? 8);

const mb = (n: number): string => `${Math.round(n / 1048576)}`;
async function vmRss(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}
async function statusField(name: string): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
}
async function report(step: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const line = async (label: string): Promise<string> => {
    const m = process.memoryUsage();
    return `${label.padEnd(22)} VmRSS ${mb(await vmRss()).padStart(5)} MB  RssAnon ${mb(await statusField('RssAnon')).padStart(5)}  RssFile ${mb(await statusField('RssFile')).padStart(4)}  heapUsed ${mb(m.heapUsed).padStart(4)}  external ${mb(m.external).padStart(4)}  arrayBuffers ${mb(m.arrayBuffers).padStart(4)}`;
  };
  console.log(await line(step));
  if (gc) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    console.log(await line(`${step} +gc`));
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-engine-mem-'));
try {
  await report('start');
  const engine = await openEngine(engineName, dir);
  await report('opened');
  const count = Math.floor((totalMb * 1048576) / valueBytes);
  for (let i = 0; i < count; i += batchSize) {
    const ops = [];
    for (let j = i; j < Math.min(count, i + batchSize); j++) {
      const value = Buffer.alloc(valueBytes, j % 251);
      ops.push({ type: 'put' as const, key: Buffer.from(`k${String(j).padStart(10, '0')}`), value });
    }
    await engine.write(ops, { sync: false });
  }
  await report(`wrote ${totalMb} MB`);
  let scanned = 0;
  for await (const [, value] of engine.scan({ gte: Buffer.from('k'), lt: Buffer.from('l') })) scanned += value.length;
  await report(`scanned ${mb(scanned)} MB`);
  await engine.close();
  await report('closed');
} finally {
  await rm(dir, { recursive: true, force: true });
}
