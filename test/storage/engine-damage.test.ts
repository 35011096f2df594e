/**
 * A member never starts having forgotten an acknowledged write (issue 11). Real processes:
 * a node takes acknowledged puts and stops; its files are damaged offline the way a
 * misbehaving disk or operator would; the restarted member must refuse with a message that
 * names the file, what is wrong and what to do, or start holding every acknowledged write.
 */
import test from 'ava';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openEngine } from '../../server/storage/open-engine.js';
import { entryKey } from '../../server/storage/reserved-keys.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { acknowledgedPuts, engineFiles, overwrite, restartAfterDamage, truncateTo, type Ack } from './damage-helpers.js';

const WRITES = 600;
const LOST_WRITES = /lost writes it had synced.*--discard-local-data-and-rejoin/s;

/** A stopped node's data dir holding WRITES acknowledged puts; `flush` restarts it once so the engine writes table files. */
async function populated(
  engine: 'rocksdb' | 'leveldb',
  name: string,
  flush = false,
): Promise<{ dataDir: string; args: string[]; acks: Ack[] }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `cairn-damage-${engine}-`));
  const args = ['--engine', engine, '--name', name, '--log-level', 'warn'];
  const node = await startNodeProcess({ dataDir, args });
  try {
    const acks = await acknowledgedPuts(node.address, 'a', WRITES / 2);
    if (flush) await node.restart(); // reopening flushes the write-ahead log into table files
    acks.push(...(await acknowledgedPuts(node.address, 'b', WRITES / 2)));
    return { dataDir, args, acks };
  } finally {
    await node.stop();
  }
}

for (const engine of ['rocksdb', 'leveldb'] as const) {
  const wal = engine === 'rocksdb' ? '.log' : '.log';

  test.serial(`${engine}: write-ahead log truncated to half`, async (t) => {
    const { dataDir, args, acks } = await populated(engine, 'n1');
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const [log] = await engineFiles(dataDir, engine, wal);
    await truncateTo(log!, 0.5);
    await restartAfterDamage(t, dataDir, args, acks, LOST_WRITES);
  });

  test.serial(`${engine}: garbage written into the middle of the write-ahead log`, async (t) => {
    const { dataDir, args, acks } = await populated(engine, 'n1');
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const [log] = await engineFiles(dataDir, engine, wal);
    await overwrite(log!, 0.4, Buffer.from('garbage garbage garbage'));
    // RocksDB drops everything after the damage (caught by the durable-promise record);
    // LevelDB skips the damaged block and keeps what follows (a gap the log loader refuses).
    await restartAfterDamage(t, dataDir, args, acks, /(lost writes it had synced|gap in raft log).*--discard-local-data-and-rejoin/s);
  });

  test.serial(`${engine}: write-ahead log truncated while table files hold the older writes`, async (t) => {
    const { dataDir, args, acks } = await populated(engine, 'n1', true);
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const [log] = await engineFiles(dataDir, engine, wal);
    await truncateTo(log!, 0.3);
    await restartAfterDamage(t, dataDir, args, acks, LOST_WRITES);
  });

  test.serial(`${engine}: the durable-promise record removed`, async (t) => {
    const { dataDir, args, acks } = await populated(engine, 'n1');
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    await rm(path.join(dataDir, 'durable-promise'));
    await restartAfterDamage(t, dataDir, args, acks, /durable-promise is missing.*--discard-local-data-and-rejoin/s);
  });

  test.serial(`${engine}: a Raft log record overwritten (checksum)`, async (t) => {
    const { dataDir, args, acks } = await populated(engine, 'n1');
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const db = await openEngine(engine, dataDir);
    const key = entryKey(WRITES / 2);
    const record = await db.get(key);
    t.truthy(record, 'the entry is in the log');
    record![record!.length - 1]! ^= 0xff;
    await db.write([{ type: 'put', key, value: record! }], { sync: true });
    await db.close();
    await restartAfterDamage(
      t,
      dataDir,
      args,
      acks,
      new RegExp(`${engine}: raft log entry ${WRITES / 2}: checksum mismatch.*--discard-local-data-and-rejoin`, 's'),
    );
  });

  test.serial(`${engine}: another member's database swapped in`, async (t) => {
    const mine = await populated(engine, 'n1');
    const theirs = await populated(engine, 'n2');
    t.teardown(() => Promise.all([mine, theirs].map((p) => rm(p.dataDir, { recursive: true, force: true }))));
    await rm(path.join(mine.dataDir, engine), { recursive: true });
    await cp(path.join(theirs.dataDir, engine), path.join(mine.dataDir, engine), { recursive: true });
    await restartAfterDamage(
      t,
      mine.dataDir,
      mine.args,
      mine.acks,
      /belongs to member \d+ of cluster \d+, not to member.*another member's database/s,
    );
  });

  test.serial(`${engine}: the whole database directory removed`, async (t) => {
    const { dataDir, args, acks } = await populated(engine, 'n1');
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    await rm(path.join(dataDir, engine), { recursive: true });
    await restartAfterDamage(t, dataDir, args, acks, /holds no Raft state at all/);
  });
}

test.serial('rocksdb: a table file truncated', async (t) => {
  const { dataDir, args, acks } = await populated('rocksdb', 'n1', true);
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const [sst] = await engineFiles(dataDir, 'rocksdb', '.sst');
  t.truthy(sst, 'the restart wrote a table file');
  await truncateTo(sst!, 0.5);
  await restartAfterDamage(t, dataDir, args, acks, /has a truncated file.*\.sst.*restore the data dir from a backup/s);
});

test.serial('rocksdb: a table file removed', async (t) => {
  const { dataDir, args, acks } = await populated('rocksdb', 'n1', true);
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const [sst] = await engineFiles(dataDir, 'rocksdb', '.sst');
  await rm(sst!);
  await restartAfterDamage(t, dataDir, args, acks, /is missing a file.*\.sst/s);
});

test.serial('a data dir in use by another member process is refused as locked', async (t) => {
  const first = await startNodeProcess({ args: ['--log-level', 'warn'] });
  t.teardown(() => first.cleanup());
  const err = await t.throwsAsync(startNodeProcess({ dataDir: first.dataDir, args: ['--log-level', 'warn'] }));
  t.regex(err?.message ?? '', /is locked by another process.*stop it, or give this member another --data-dir/s);
});
