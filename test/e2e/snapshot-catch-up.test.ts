/**
 * A new member catches up by snapshot from a 128 MiB store (1 MiB values, log compacted), on
 * the default engine: the snapshot travels through a file in its data dir (checked, then
 * installed from the file), it is installed by snapshot and not by log replay, and it ends
 * with the leader's HashKV.
 *
 * Its memory is measured, not asserted: issue 14 asks that the receiver's peak RSS stay
 * flat (under 300 MB for a 1 GiB store), and it does not yet. Growth over an empty member
 * was 133 MiB on RocksDB and about 300 MiB on LevelDB for this store, most of it while the
 * received file is imported (the transfer itself adds about 80 MiB). The figure is logged
 * on every run; the 1 GiB version runs by hand: `npx tsx bench/snapshot-catch-up.ts`.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSnapshotCatchUp } from '../helpers/snapshot-catch-up.js';
import type { NodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

const MiB = 1024 * 1024;

test('a learner joining a 128 MiB store catches up by snapshot, with the same hash (memory logged)', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-snap-catch-up-'));
  const processes: NodeProcess[] = [];
  t.teardown(async () => {
    await Promise.all(processes.map((p) => p.cleanup()));
    await rm(root, { recursive: true, force: true });
  });
  const result = await runSnapshotCatchUp({
    processes,
    root,
    keys: 128,
    valueBytes: MiB,
    waitMs: 10 * MIN_WAIT_MS,
    log: (line) => t.log(`${new Date().toISOString()} ${line}`),
  });
  const growth = result.receiverPeakRssBytes - result.baselinePeakRssBytes;
  t.log(
    `store ${result.storeBytes / MiB} MiB; receiver peak RSS ${(result.receiverPeakRssBytes / MiB).toFixed(0)} MiB, ` +
      `empty member ${(result.baselinePeakRssBytes / MiB).toFixed(0)} MiB, growth ${(growth / MiB).toFixed(0)} MiB; ` +
      `caught up in ${result.catchUpSeconds.toFixed(1)} s`,
  );
  t.is(result.hashNew, result.hashLeader, 'the new member holds the same data');
  t.regex(result.receiverSnapshotLog, /installed snapshot from the leader/, 'it caught up by snapshot, not by log replay');
});
