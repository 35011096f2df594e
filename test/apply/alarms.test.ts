/**
 * The replicated alarm list (apply/alarm-store.ts) as the applier uses it, on a real
 * store: a CORRUPT alarm refuses every key-space change with ERROR_CODE_CORRUPT and
 * changes nothing, survives a restart (it is stored with the applied index), and ends by
 * a disarm that matches it. A NOSPACE alarm refuses only what adds data (puts, txns with a
 * put in either branch, lease grants) with ERROR_CODE_NO_SPACE. Plus the hash verdict the checks raise alarms from.
 */
import test from 'ava';
import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import { PutRequest, TxnRequest } from '../../gen/ts/cairn/v1/kv.js';
import { AlarmType } from '../../gen/ts/cairn/v1/maintenance.js';
import { ErrorCode } from '../../server/errors.js';
import { divergentMembers } from '../../server/hash-verdict.js';
import { compactCmd, delCmd, putCmd, TestStore } from '../helpers/mvcc-store.js';

const alarm = (activate: boolean, memberId: number, type: AlarmType): Command => ({
  request: { $case: 'alarm', alarm: { activate, memberId, alarm: type, detail: activate ? 'hash x differs' : '' } },
  checkedAs: '',
});

test('a CORRUPT alarm refuses writes, survives a restart, and ends by a matching disarm', async (t) => {
  const ts = await TestStore.create('rocksdb');
  t.teardown(() => ts.destroy());
  await ts.put('a', '1');
  await ts.ok(alarm(true, 7, AlarmType.ALARM_TYPE_CORRUPT));
  const revision = ts.store.currentRevision;
  for (const command of [putCmd('b', '2'), delCmd('a'), compactCmd(1)]) {
    const err = await ts.fails(command);
    t.is(err.code, ErrorCode.ERROR_CODE_CORRUPT);
    t.regex(err.message, /CORRUPT alarm is active for member\(s\) 7/);
  }
  t.is(ts.store.currentRevision, revision, 'refused writes changed nothing');

  await ts.reopen();
  t.deepEqual(
    ts.alarms.list().map((a) => [a.memberId, a.alarm, a.detail]),
    [[7, AlarmType.ALARM_TYPE_CORRUPT, 'hash x differs']],
  );
  t.is((await ts.fails(putCmd('b', '2'))).code, ErrorCode.ERROR_CODE_CORRUPT, 'still refused after a restart');

  // A disarm for another member or type leaves it; one that matches ends it.
  await ts.ok(alarm(false, 8, AlarmType.ALARM_TYPE_UNSPECIFIED));
  await ts.ok(alarm(false, 0, AlarmType.ALARM_TYPE_NOSPACE));
  t.is(ts.alarms.list().length, 1);
  await ts.ok(alarm(false, 0, AlarmType.ALARM_TYPE_UNSPECIFIED));
  t.deepEqual(ts.alarms.list(), []);
  await ts.put('b', '2');
  await ts.reopen();
  t.deepEqual(ts.alarms.list(), [], 'the disarm is stored too');
});

test('a NOSPACE alarm refuses only writes that add data, the same way on every member, until it ends', async (t) => {
  const ts = await TestStore.create('rocksdb');
  t.teardown(() => ts.destroy());
  await ts.put('a', '1');
  await ts.put('b', '1');
  await ts.ok(alarm(true, 7, AlarmType.ALARM_TYPE_NOSPACE));
  const revision = ts.store.currentRevision;
  const txnWithPut = (inFailureBranch: boolean): Command => {
    const put = {
      request: { $case: 'requestPut' as const, requestPut: PutRequest.fromPartial({ key: Buffer.from('c'), value: Buffer.from('x') }) },
    };
    return {
      request: {
        $case: 'txn',
        txn: TxnRequest.fromPartial({ success: inFailureBranch ? [] : [put], failure: inFailureBranch ? [put] : [] }),
      },
      checkedAs: '',
    };
  };
  const grant: Command = { request: { $case: 'leaseGrant', leaseGrant: { id: 5, ttl: 60 } }, checkedAs: '' };
  for (const command of [putCmd('c', '2'), txnWithPut(false), txnWithPut(true), grant]) {
    const err = await ts.fails(command);
    t.is(err.code, ErrorCode.ERROR_CODE_NO_SPACE, JSON.stringify(command.request?.$case));
    t.regex(err.message, /NOSPACE alarm is active: member 7 \(hash x differs\)/);
  }
  t.is(ts.store.currentRevision, revision, 'refused writes changed nothing');
  // What frees space, or only reads, still applies.
  await ts.del('a');
  await ts.compact(ts.store.currentRevision);
  const readOnly = await ts.txn({ success: [{ request: { $case: 'requestRange', requestRange: { key: Buffer.from('b') } } }] });
  t.true(readOnly.succeeded);
  // A CORRUPT disarm leaves it; a NOSPACE one for the member ends it.
  await ts.ok(alarm(false, 7, AlarmType.ALARM_TYPE_CORRUPT));
  t.is((await ts.fails(putCmd('c', '2'))).code, ErrorCode.ERROR_CODE_NO_SPACE);
  await ts.ok(alarm(false, 7, AlarmType.ALARM_TYPE_NOSPACE));
  await ts.put('c', '2');
  t.deepEqual(ts.alarms.list(), []);
});

test('an alarm without a type or member is refused', async (t) => {
  const ts = await TestStore.create('rocksdb');
  t.teardown(() => ts.destroy());
  t.is((await ts.fails(alarm(true, 0, AlarmType.ALARM_TYPE_CORRUPT))).code, ErrorCode.ERROR_CODE_INVALID_ARGUMENT);
  t.is((await ts.fails(alarm(true, 7, AlarmType.ALARM_TYPE_UNSPECIFIED))).code, ErrorCode.ERROR_CODE_INVALID_ARGUMENT);
  t.deepEqual(ts.alarms.list(), []);
});

test('hash verdict: the minority is named; without a majority everyone is', (t) => {
  t.deepEqual(divergentMembers([{ memberId: 1, hash: 'a' }], 5), [], 'one answer proves nothing');
  t.deepEqual(
    divergentMembers(
      [
        { memberId: 1, hash: 'a' },
        { memberId: 2, hash: 'a' },
      ],
      5,
    ),
    [],
  );
  const minority = divergentMembers(
    [
      { memberId: 1, hash: 'a' },
      { memberId: 2, hash: 'b' },
      { memberId: 3, hash: 'a' },
    ],
    5,
  );
  t.deepEqual(
    minority.map((d) => d.memberId),
    [2],
  );
  t.regex(minority[0]!.detail, /hash b at revision 5 differs from a held by members 1, 3/);
  t.deepEqual(
    divergentMembers(
      [
        { memberId: 1, hash: 'a' },
        { memberId: 2, hash: 'b' },
      ],
      5,
    ).map((d) => d.memberId),
    [1, 2],
  );
});
