/**
 * The durable-promise record covers every write before it is acknowledged (issue 11). A
 * single member (its acknowledgement needs no peer) is killed the moment a put is
 * acknowledged, and the tail of its engine's write-ahead log is cut off while it is down, as
 * a damaged disk or a buggy engine would. Restarted, it must refuse to start, naming the
 * lost writes, or hold every acknowledged write; never start having forgotten one. (With a
 * record that lagged the log by an interval, the member started without the last writes.)
 */
import test from 'ava';
import { readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { startNodeProcess } from '../helpers/node-process.js';
import { acknowledgedPuts, restartAfterDamage, type Ack } from '../storage/damage-helpers.js';

/** The engine's newest write-ahead log file (RocksDB numbers them in order). */
async function newestWal(dataDir: string): Promise<string> {
  const dir = path.join(dataDir, 'rocksdb');
  const logs = (await readdir(dir)).filter((f) => /^\d+\.log$/.test(f)).sort((a, b) => parseInt(b, 10) - parseInt(a, 10));
  if (logs[0] === undefined) throw new Error(`no write-ahead log in ${dir}`);
  return path.join(dir, logs[0]);
}

test('a member killed right after an acknowledgement, its log tail then lost, never starts without that write', async (t) => {
  const node = await startNodeProcess({ args: ['--engine', 'rocksdb', '--log-level', 'warn'] });
  t.teardown(() => node.cleanup());
  const acks: Ack[] = [...(await acknowledgedPuts(node.address, 'warm', 50))];
  // Where the log stood before the last put: every earlier put was applied before its answer.
  const wal = await newestWal(node.dataDir);
  const before = (await stat(wal)).size;
  // The kill follows the last acknowledgement before anything else can happen (no time for a
  // background record to catch up).
  acks.push(...(await acknowledgedPuts(node.address, 'last', 1)));
  process.kill(node.pid, 'SIGKILL');
  await node.kill();

  t.is(await newestWal(node.dataDir), wal, 'the engine kept writing the same log file');
  const after = (await stat(wal)).size;
  t.true(after > before, `the last put's log entry and apply went to ${wal}`);
  // Exactly the last put's log entry (and its apply) are lost.
  await truncate(wal, before);

  const verdict = await restartAfterDamage(t, node.dataDir, ['--engine', 'rocksdb'], acks, /lost writes it had synced.*index/s);
  t.is(verdict, 'refused', 'the cut removed acknowledged writes, so the member must refuse');
});
