/**
 * CPU of one synced save, in a process alone: what a member's storage costs per save, told
 * apart from waiting. Opens RocksDB with openEngine in a temporary data dir and runs SAVES
 * saves one after the other, each an atomic batch of ENTRIES puts of VALUE bytes plus a
 * hard-state put (what a follower's Raft log save writes), in one of these modes:
 *
 * - `write`: the engine write alone, unsynced (RocksDB's batch, on the calling thread);
 * - `sync`: the engine write synced (the write, then the WAL syncer's fdatasync on the pool);
 * - `save`: `sync`, then the durable-promise record's O_DSYNC write, as a synced save does.
 *
 * Prints wall µs, main-thread CPU µs and whole-process CPU µs per save (the main thread's
 * from /proc/self/task/<pid>/stat, in clock ticks: run enough saves for 10 ms to be small).
 *   npx tsx bench/synced-save.ts [write|sync|save] [SAVES=3000] [ENTRIES=4] [VALUE=300]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BatchOp } from '../server/storage/engine.js';
import { DurablePromiseFile } from '../server/storage/durable-promise.js';
import { openEngine } from '../server/storage/open-engine.js';

type Mode = 'write' | 'sync' | 'save';
const mode = (process.argv[2] ?? 'save') as Mode;
const saves = Number(process.argv[3] ?? 3000);
const entries = Number(process.argv[4] ?? 4);
const valueBytes = Number(process.argv[5] ?? 300);
const WARM_UP = 500;

/** utime + stime of the main thread, in µs (USER_HZ is 100 on Linux). */
async function mainThreadCpuMicros(): Promise<number> {
  const stat = await readFile(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function processCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function opsOf(save: number): BatchOp[] {
  const ops: BatchOp[] = [];
  for (let i = 0; i < entries; i++) {
    const key = Buffer.alloc(9);
    key[0] = 0x72; // 'r'
    key.writeBigUInt64BE(BigInt(save * entries + i), 1);
    ops.push({ type: 'put', key, value: Buffer.alloc(valueBytes, i) });
  }
  ops.push({ type: 'put', key: Buffer.from('h'), value: Buffer.alloc(24, save % 256) });
  return ops;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-synced-save-'));
const engine = await openEngine('rocksdb', dir);
const promise = await DurablePromiseFile.open(dir);
const identity = { clusterId: 1, memberId: 1, vote: 1, lastTerm: 2 };

async function runSave(n: number): Promise<void> {
  await engine.write(opsOf(n), { sync: mode !== 'write' });
  if (mode === 'save') await promise.write({ ...identity, term: 2, commit: n, lastIndex: n });
}

try {
  for (let n = 0; n < WARM_UP; n++) await runSave(n);
  const wall0 = performance.now();
  const main0 = await mainThreadCpuMicros();
  const process0 = processCpuMicros();
  for (let n = WARM_UP; n < WARM_UP + saves; n++) await runSave(n);
  const main1 = await mainThreadCpuMicros();
  const process1 = processCpuMicros();
  const wall = (performance.now() - wall0) * 1000;
  const per = (us: number): string => (us / saves).toFixed(1);
  console.log(
    `${mode}: ${saves} saves of ${entries} x ${valueBytes} B + hard state; per save: wall ${per(wall)} µs, ` +
      `main-thread CPU ${per(main1 - main0)} µs, process CPU ${per(process1 - process0)} µs; load ${os.loadavg()[0]!.toFixed(1)}`,
  );
} finally {
  await promise.close();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}
