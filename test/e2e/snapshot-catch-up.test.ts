/**
 * A new member catches up by snapshot from a 128 MiB store without holding it in memory
 * (issue 14). The receiver's peak RSS may grow over an empty member's by less than half the
 * store: reassembling the snapshot in memory (as before) needs at least the whole store.
 * The 1 GiB version runs by hand: `npx tsx bench/snapshot-catch-up.ts` (see docs).
 *
 * On LevelDB. It was chosen while RocksDB's array-form batches (@nxtedition/rocksdb 12.2)
 * stayed open, each holding its bytes until the database closed; the engine now writes
 * through chained batches, which close (test/storage/engine-batch-release.test.ts).
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSnapshotCatchUp } from '../helpers/snapshot-catch-up.js';
import type { NodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

const MiB = 1024 * 1024;

test('a learner joining a 128 MiB store catches up by snapshot with its memory growing by less than half the store', async (t) => {
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
    serveArgs: ['--engine', 'leveldb'],
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
  t.true(growth < result.storeBytes / 2, `peak RSS grew by ${(growth / MiB).toFixed(0)} MiB for a ${result.storeBytes / MiB} MiB store`);
});
