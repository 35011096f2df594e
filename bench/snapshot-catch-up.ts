/**
 * Issue 14's acceptance run, by hand (too heavy for `npm test` on a two-core machine): a
 * one-member cluster is filled with KEYS values of VALUE_BYTES random bytes (default
 * 1100 x 1 MiB, 1.07 GiB) with the Raft log compacted past its start, then a new member is
 * added as a learner and started with --join, so it can only catch up by snapshot. Checks
 * that its HashKV equals the leader's and that its peak RSS (VmHWM) stays under the bound,
 * and prints the figures. Exits 1 when a check fails. The members run with the allocator
 * setting they are deployed with (DEPLOYED_MEMBER_ENV in test/helpers/snapshot-catch-up.ts).
 *
 *   npm run build && npx tsx bench/snapshot-catch-up.ts [--keys 1100] [--value-bytes 1048576]
 *     [--max-rss-mb 300] [--engine rocksdb|leveldb]
 *
 * Needs about 3x the store in free disk space (the leader's store, the receiver's file and
 * store copy). The data dirs are under $TMPDIR and removed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeProcess } from '../test/helpers/node-process.js';
import { runSnapshotCatchUp } from '../test/helpers/snapshot-catch-up.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const keys = Number(flag('keys', '1100'));
const valueBytes = Number(flag('value-bytes', String(1024 * 1024)));
const maxRssMb = Number(flag('max-rss-mb', '300'));
const engine = flag('engine', 'rocksdb');
const MiB = 1024 * 1024;

const root = await mkdtemp(join(tmpdir(), 'cairn-bench-snap-'));
const processes: NodeProcess[] = [];
let failed = false;
try {
  const r = await runSnapshotCatchUp({
    root,
    processes,
    keys,
    valueBytes,
    waitMs: 30 * 60 * 1000,
    serveArgs: ['--engine', engine],
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  const peakMb = r.receiverPeakRssBytes / MiB;
  console.log(`engine:                 ${engine}`);
  console.log(`store:                  ${keys} x ${valueBytes} bytes = ${(r.storeBytes / MiB).toFixed(0)} MiB, revision ${r.revision}`);
  console.log(`fill:                   ${r.fillSeconds.toFixed(1)} s`);
  console.log(`catch-up (join→hash):   ${r.catchUpSeconds.toFixed(1)} s`);
  console.log(`empty member peak RSS:  ${(r.baselinePeakRssBytes / MiB).toFixed(0)} MiB`);
  console.log(`receiver peak RSS:      ${peakMb.toFixed(0)} MiB (bound ${maxRssMb} MB = ${((maxRssMb * 1e6) / MiB).toFixed(0)} MiB)`);
  console.log(`HashKV leader / new:    ${r.hashLeader} / ${r.hashNew}`);
  console.log(`receiver's snapshot log:\n${r.receiverSnapshotLog}`);
  if (r.hashNew !== r.hashLeader) {
    console.log('FAIL: the new member does not hold the same data');
    failed = true;
  }
  if (r.receiverPeakRssBytes > maxRssMb * 1e6) {
    console.log(`FAIL: receiver peak RSS ${peakMb.toFixed(0)} MiB over the bound`);
    failed = true;
  }
  if (!failed) console.log('OK');
} finally {
  await Promise.all(processes.map((p) => p.cleanup()));
  await rm(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
