// `cairn defrag` and Status's sizes against real members: on LevelDB the engine's files shrink
// once most keys are deleted and the history compacted; the RocksDB binding has no
// compactRange, and the member says so instead of pretending.
import test from 'ava';
import { credentials } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceClient, type StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { b, Kv } from '../helpers/grpc-clients.js';
import { REPO_ROOT, runCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

const KEYS = 6000;
const VALUE_BYTES = 2048;
const TXN_PUTS = 100;
const KEPT = 600;

function memberStatus(address: string): Promise<StatusResponse> {
  const client = new MaintenanceServiceClient(address, credentials.createInsecure());
  return new Promise<StatusResponse>((resolve, reject) => client.status({}, (err, res) => (err ? reject(err) : resolve(res)))).finally(() =>
    client.close(),
  );
}

/** Fills the store. */
async function fill(kv: Kv): Promise<void> {
  for (let start = 0; start < KEYS; start += TXN_PUTS) {
    const puts = Array.from({ length: TXN_PUTS }, (_, i) => ({
      request: {
        $case: 'requestPut' as const,
        requestPut: { key: b(`d/${String(start + i).padStart(5, '0')}`), value: randomBytes(VALUE_BYTES) },
      },
    }));
    await kv.txn({ success: puts });
  }
}

/** Deletes nine keys in ten and compacts that history away. */
async function deleteMost(kv: Kv): Promise<void> {
  // Keep d/00000..d/00599, delete the rest.
  await kv.deleteRange({ key: b('d/00600'), rangeEnd: b('d/99999') });
  await kv.compact({ revision: await kv.revision(), physical: true });
}

const nodes: NodeProcess[] = [];
test.after.always(async () => {
  await Promise.all(nodes.map((n) => n.cleanup()));
});

test.serial(
  'after most keys were deleted and compacted, a defragmented LevelDB member holds the space of the kept keys only',
  async (t) => {
    // A short Raft log, so that the entries that carried the puts do not hold their values on disk.
    const node = await startNodeProcess({ args: ['--engine', 'leveldb', '--snapshot-count', '20', '--snapshot-catch-up-entries', '5'] });
    nodes.push(node);
    const kv = new Kv(new KVServiceClient(node.address, credentials.createInsecure()));
    await fill(kv);
    const full = await memberStatus(node.address);
    await deleteMost(kv);
    const before = await memberStatus(node.address);
    t.true(before.dbSize > 0);
    t.is(before.version, (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const r = await runCli(['defrag', '--endpoints', node.address, '-o', 'json']);
    t.is(r.code, 0, r.stderr);
    const [report] = (
      JSON.parse(r.stdout) as { members: { response: { dbSizeBefore: number; dbSizeAfter: number; durationMs: number } }[] }
    ).members;
    const { dbSizeBefore, dbSizeAfter, durationMs } = report!.response;
    t.log(
      `LevelDB, ${KEYS} keys of ${VALUE_BYTES} B, 90% deleted and compacted: ${dbSizeBefore} -> ${dbSizeAfter} bytes in ${durationMs} ms`,
    );
    const deletedBytes = (KEYS - KEPT) * VALUE_BYTES;
    // LevelDB compacts its tables after a physical compaction already (for the space quota),
    // so the space may be back before the defragment: what counts is that it is back.
    t.true(
      Number(full.dbSize) - dbSizeAfter >= 0.8 * deletedBytes,
      `${full.dbSize} bytes when full -> ${dbSizeAfter} after the deletes, compaction and defragment; ${deletedBytes} bytes of values deleted`,
    );
    const after = await memberStatus(node.address);
    t.true(after.dbSize <= dbSizeAfter + VALUE_BYTES * 10, `Status reports ${after.dbSize} bytes after`);
    // The data is intact.
    t.is(Number((await kv.range({ key: b('d/'), rangeEnd: b('d0'), countOnly: true })).count), KEPT);
  },
);

test.serial('defrag on RocksDB is refused with the reason and what to do instead', async (t) => {
  const node = await startNodeProcess();
  nodes.push(node);
  const r = await runCli(['defrag', '--endpoints', node.address]);
  t.is(r.code, 1);
  t.regex(r.stdout, /failed to defragment .*no compactRange.*--discard-local-data-and-rejoin/);
});
