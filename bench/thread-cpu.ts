/**
 * Splits a member's CPU over a measured window by thread: its main (JavaScript) thread, V8's
 * platform threads (concurrent marking, parallel scavenge, concurrent JIT compilation),
 * libuv's pool (fsync, async engine calls) and RocksDB's own threads. The "V8's threads and
 * flags" figures of docs/benchmarks.md.
 *
 *   npx tsx bench/thread-cpu.ts BEFORE AFTER --pid PID [--ops N] [--v8-pool-size N]
 *
 * BEFORE and AFTER are `cat /proc/PID/task/* /stat` taken at the window's edges
 * (bench/profile-member.sh takes them around the load generator's measured run); a thread
 * that started inside the window counts from zero, one that ended inside it is lost.
 *
 * Node 20 names none of its threads (each one's comm is "node"), so they are told apart by
 * the order they start in, which node_platform.cc and node.cc fix: the main thread, the
 * platform's delayed-task scheduler, its --v8-pool-size workers (4 unless set; 0 means one
 * fewer than the cores), the inspector's signal thread, then libuv's pool as it is first used.
 * Threads named by their owners (rocksdb:low, rocksdb:high) keep their names.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

/** utime + stime in clock ticks (USER_HZ, 100 on Linux), and what tells threads apart. */
interface ThreadTimes {
  readonly tid: number;
  readonly comm: string;
  readonly startTicks: number;
  readonly cpuTicks: number;
}

const TICK_MS = 10;

/** One line of /proc/PID/task/TID/stat; comm is in parentheses and may hold spaces. */
function parseStat(line: string): ThreadTimes | undefined {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // Fields after comm, counted from field 3 (state): utime is field 14, stime 15, starttime 22.
  const rest = line.slice(close + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const start = Number(rest[19]);
  if (![utime, stime, start].every(Number.isFinite)) return undefined;
  return { tid: Number(line.slice(0, open).trim()), comm: line.slice(open + 1, close), startTicks: start, cpuTicks: utime + stime };
}

function readSnapshot(file: string): Map<number, ThreadTimes> {
  const threads = new Map<number, ThreadTimes>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = parseStat(line);
    if (t) threads.set(t.tid, t);
  }
  return threads;
}

/** Labels every thread of the process, in start order, as the header comment says. */
function labelThreads(threads: readonly ThreadTimes[], pid: number, v8PoolSize: number): Map<number, string> {
  const labels = new Map<number, string>();
  const unnamed = threads.filter((t) => t.comm === 'node' && t.tid !== pid).sort((a, b) => a.startTicks - b.startTicks || a.tid - b.tid);
  const platform = 1 + v8PoolSize;
  unnamed.forEach((t, i) => {
    const label = i < platform ? 'V8 platform (GC, JIT)' : i === platform ? 'inspector signal thread' : 'libuv pool and later threads';
    labels.set(t.tid, label);
  });
  for (const t of threads) if (t.tid === pid) labels.set(t.tid, 'main thread');
  for (const t of threads) if (!labels.has(t.tid)) labels.set(t.tid, t.comm);
  return labels;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { pid: { type: 'string' }, ops: { type: 'string' }, 'v8-pool-size': { type: 'string' } },
  });
  const [beforeFile, afterFile] = positionals;
  if (!beforeFile || !afterFile || !values.pid) {
    throw new Error('usage: thread-cpu.ts BEFORE AFTER --pid PID [--ops N] [--v8-pool-size N]');
  }
  const pid = Number(values.pid);
  const ops = Number(values.ops ?? 0);
  const requested = Number(values['v8-pool-size'] ?? 4);
  const v8PoolSize = requested > 0 ? requested : Math.max(1, availableParallelism() - 1);
  const before = readSnapshot(beforeFile);
  const after = [...readSnapshot(afterFile).values()];
  const labels = labelThreads(after, pid, v8PoolSize);

  const byLabel = new Map<string, { ms: number; threads: number }>();
  let totalMs = 0;
  for (const t of after) {
    const ms = (t.cpuTicks - (before.get(t.tid)?.cpuTicks ?? 0)) * TICK_MS;
    const label = labels.get(t.tid) ?? t.comm;
    const group = byLabel.get(label) ?? { ms: 0, threads: 0 };
    group.ms += ms;
    group.threads += 1;
    byLabel.set(label, group);
    totalMs += ms;
  }
  const perK = (ms: number): string => (ops > 0 ? `${((ms / ops) * 1000).toFixed(1)} ms per 1k ops` : '');
  console.log(`threads of ${pid}: ${totalMs} ms CPU in the window${ops > 0 ? `, ${perK(totalMs)}` : ''}`);
  for (const [label, { ms, threads }] of [...byLabel].sort((a, b) => b[1].ms - a[1].ms)) {
    const share = totalMs > 0 ? ((ms / totalMs) * 100).toFixed(1) : '0.0';
    console.log(`  ${`${label} (${threads})`.padEnd(36)} ${String(ms).padStart(7)} ms ${share.padStart(5)} %  ${perK(ms)}`);
  }
}

main();
