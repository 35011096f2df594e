/**
 * The space quota (issue 14), on a real `cairn serve` with a 2 MiB --quota-backend-bytes:
 * writing until refused gets RESOURCE_EXHAUSTED naming the quota and the fix, a NOSPACE
 * alarm shows in `cairn alarm list` and `cairn status`, lease grants and transactions with
 * a put are refused too, while reads, deletes, compaction and lease revokes work. Deleting
 * everything and compacting physically frees the space: on LevelDB the compaction asks the
 * engine to compact its tables, on RocksDB (whose binding cannot compact in place) the
 * operator's `cairn defrag` copies the live data into fresh files; a short Raft log lets go
 * of the big entries; the alarm then ends by itself and writes resume, with no disarm.
 */
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { b, errorDetails, grpcError, Kv, statusName } from '../helpers/grpc-clients.js';
import { Leases } from '../helpers/lease-client.js';
import { runCli, startNodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS, waitFor } from '../helpers/wait.js';

const QUOTA = 2 * 1024 * 1024;
const VALUE_BYTES = 32 * 1024;
/** Far more than the quota holds: the run fails rather than writing for ever. */
const MAX_PUTS = 2000;
/** Only stops a stuck run: the alarm is raised and ended within a check interval or two. */
const ALARM_WAIT_MS = Math.max(MIN_WAIT_MS, 90_000);

function expectNoSpace(t: ExecutionContext, err: ServiceError, what: string): void {
  t.is(err.code, status.RESOURCE_EXHAUSTED, `${what}: ${statusName(err.code)} ${err.details}`);
  t.is(errorDetails(err)?.info?.code, ErrorCode.ERROR_CODE_NO_SPACE, what);
  t.regex(err.details, /NOSPACE alarm/, what);
  t.regex(err.details, new RegExp(`--quota-backend-bytes ${QUOTA}\\b`), `${what} names the quota`);
  t.regex(err.details, /cairn compact --physical/, `${what} names the fix`);
}

for (const engine of ['leveldb', 'rocksdb'] as const) {
  test(`${engine}: a member over --quota-backend-bytes refuses writes that add data until usage is back under it, then resumes by itself`, async (t) => {
    t.timeout(300_000);
    const node = await startNodeProcess({
      args: [
        '--quota-backend-bytes',
        String(QUOTA),
        '--quota-check-interval',
        '200',
        // A short Raft log lets go of the big entries.
        '--snapshot-count',
        '20',
        '--snapshot-catch-up-entries',
        '5',
        '--engine',
        engine,
      ],
    });
    t.teardown(() => node.cleanup());
    const kv = new Kv(new KVServiceClient(node.address, credentials.createInsecure()));
    const leases = new Leases(node.address);
    t.teardown(() => {
      kv.client.close();
      leases.close();
    });
    const endpoints = ['--endpoints', node.address];

    // A lease granted before the quota is hit, to revoke while the alarm is active.
    const lease = await leases.grant(600);
    let refused: ServiceError | undefined;
    let written = 0;
    while (refused === undefined && written < MAX_PUTS) {
      try {
        await kv.set(`big/${String(written).padStart(5, '0')}`, randomBytes(VALUE_BYTES));
        written++;
      } catch (err) {
        refused = err as ServiceError;
      }
    }
    t.truthy(refused, `${written} puts of ${VALUE_BYTES} bytes were all accepted over a ${QUOTA}-byte quota`);
    expectNoSpace(t, refused!, 'the refused put');
    t.log(`refused after ${written} puts of ${VALUE_BYTES} bytes: ${refused!.details}`);

    const list = await runCli(['alarm', 'list', ...endpoints]);
    t.is(list.code, 0, list.stderr);
    t.regex(list.stdout, /alarm:NOSPACE detail:database size [\d.]+ MiB \(\d+ bytes\) is over the quota of 2\.0 MiB/);
    const statusOut = await runCli(['status', ...endpoints]);
    t.is(statusOut.code, 0, statusOut.stderr);
    t.regex(statusOut.stdout, /ALARM memberID:\d+.*alarm:NOSPACE/);

    // Everything that adds data is refused...
    expectNoSpace(t, await grpcError(kv.set('small', 'x')), 'a small put');
    expectNoSpace(t, await grpcError(leases.grant(60)), 'a lease grant');
    expectNoSpace(
      t,
      await grpcError(
        kv.txn({
          compare: [],
          success: [{ request: { $case: 'requestPut', requestPut: { key: b('small'), value: b('x') } } }],
          failure: [],
        }),
      ),
      'a txn with a put',
    );
    // ...and what reads or frees space works.
    const first = await kv.get('big/00000');
    t.is(first.kvs[0]?.value.length, VALUE_BYTES, 'reads work');
    const txnRead = await kv.txn({
      compare: [],
      success: [{ request: { $case: 'requestRange', requestRange: { key: b('big/00001') } } }],
      failure: [],
    });
    t.true(txnRead.succeeded, 'a read-only txn works');
    await leases.revoke(lease.id);
    const deleted = await kv.deleteRange({ key: b('big/'), rangeEnd: b('big0') });
    t.is(deleted.deleted, written, 'deletes work');
    const revision = await kv.revision();
    await kv.compact({ revision, physical: true });
    if (engine === 'rocksdb') {
      // LevelDB compacts its tables in place once a compaction deleted history; RocksDB's
      // files are rebuilt by the operator's defragment (storage/engine-rebuild.ts).
      const defrag = await runCli(['defrag', ...endpoints]);
      t.is(defrag.code, 0, defrag.stderr);
      t.log(defrag.stdout.trim());
    }

    // No disarm: the member measures itself under the quota again and ends its alarm.
    const resumed = await waitFor(
      'writes resume once usage is back under the quota',
      () => kv.set('small', 'after').then((r) => r),
      ALARM_WAIT_MS,
    );
    t.true(resumed.header!.revision > revision);
    const after = await runCli(['alarm', 'list', ...endpoints]);
    t.is(after.code, 0, after.stderr);
    t.notRegex(after.stdout, /NOSPACE/, 'the alarm ended by itself');
    t.is((await leases.grant(60)).ttl, 60, 'lease grants work again');
    t.regex(node.output(), /usage is back under the space quota: ending the NOSPACE alarm/);
  });
}
