// Bad input over gRPC: each is answered with the exact status and a message that says what
// to change, and leaves the store untouched (same revision, sentinel key unchanged).
import test, { type ExecutionContext } from 'ava';
import type { ServiceError } from '@grpc/grpc-js';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import {
  Compare_CompareResult as Result,
  Compare_CompareTarget as Target,
  type RangeRequest_SortOrder,
  type RangeRequest_SortTarget,
} from '../../gen/ts/cairn/v1/kv.js';
import type { WatchCreateRequest_FilterType as Filter, WatchResponse } from '../../gen/ts/cairn/v1/watch.js';
import {
  b,
  ENGINE_NAMES,
  errorDetails,
  grpcError,
  s,
  startApiNode,
  status,
  statusDetails,
  statusName,
  waitUntil,
  type EngineName,
  type Kv,
  type TxnInput,
} from '../helpers/grpc-clients.js';

const LIMITS = { maxRequestBytes: 1024, maxTxnOps: 4, maxKeyBytes: 32, maxValueBytes: 2048 };

/** A node with small limits and a sentinel key written at revisions 2..4 (a fresh store is at 1). */
async function setup(t: ExecutionContext, engine: (typeof ENGINE_NAMES)[number]) {
  const n = await startApiNode(t, engine, { limits: LIMITS });
  await n.kv.set('sentinel', 'v1');
  await n.kv.set('other', 'o');
  await n.kv.set('sentinel', 'v2');
  return n;
}

/**
 * Checks that a failed call carries its status in grpc-status-details-bin: the same gRPC
 * code and message as the call, and an ErrorInfo with the expected Cairn code.
 */
function carries(t: ExecutionContext, err: ServiceError, domainCode: ErrorCode, compactRevision = 0): void {
  const details = errorDetails(err);
  if (details === undefined) return void t.fail(`no grpc-status-details-bin on ${statusName(err.code)}: ${err.details}`);
  t.is(details.status.code, err.code, 'the details repeat the status code');
  t.is(details.status.message, err.details, 'the details repeat the message');
  t.is(details.status.details.length, 1);
  t.deepEqual(details.info, { code: domainCode, compactRevision }, `expected ${ErrorCode[domainCode]}`);
}

/** Checks a watch canceled because of an error: created/canceled, its reason, and the status the table gives its code. */
function canceledWith(t: ExecutionContext, r: WatchResponse, code: number, domainCode: ErrorCode, reason: RegExp): void {
  t.true(r.canceled, `watch ${r.watchId} canceled`);
  t.regex(r.cancelReason, reason);
  if (r.cancelStatus === undefined) return void t.fail(`watch ${r.watchId} canceled without cancel_status: ${r.cancelReason}`);
  const { status: st, info } = statusDetails(r.cancelStatus);
  t.is(st.code, code, `expected ${statusName(code)}, got ${statusName(st.code)}: ${st.message}`);
  t.is(st.message, r.cancelReason);
  t.deepEqual(info, { code: domainCode, compactRevision: r.compactRevision });
}

/**
 * Runs a call that must fail; checks code, message and the domain code in the status
 * details (when given), then that nothing changed: revision 4, sentinel at v2 modified at 4.
 */
async function refused(
  t: ExecutionContext,
  kv: Kv,
  call: Promise<unknown>,
  code: number,
  message: RegExp,
  domainCode?: ErrorCode,
  compactRevision = 0,
): Promise<ServiceError> {
  const err = await grpcError(call);
  t.is(err.code, code, `expected ${statusName(code)}, got ${statusName(err.code)}: ${err.details}`);
  t.regex(err.details, message);
  if (domainCode !== undefined) carries(t, err, domainCode, compactRevision);
  const sentinel = await kv.get('sentinel');
  t.is(sentinel.header!.revision, 4, `revision unchanged after: ${err.details}`);
  t.is(s(sentinel.kvs[0]?.value), 'v2');
  t.is(sentinel.kvs[0]?.modRevision, 4);
  return err;
}

const put = (key: string | Buffer, value: string | Buffer = 'x') => ({
  request: {
    $case: 'requestPut' as const,
    requestPut: { key: typeof key === 'string' ? b(key) : key, value: typeof value === 'string' ? b(value) : value },
  },
});

for (const engine of ENGINE_NAMES) {
  test(`${engine}: empty, oversized keys and oversized values are INVALID_ARGUMENT`, async (t) => {
    const { kv } = await setup(t, engine);
    const emptyKey = /key is empty; give a non-empty key/;
    await refused(t, kv, kv.put({ key: b(''), value: b('v') }), status.INVALID_ARGUMENT, emptyKey, ErrorCode.ERROR_CODE_EMPTY_KEY);
    await refused(t, kv, kv.range({ key: b('') }), status.INVALID_ARGUMENT, emptyKey, ErrorCode.ERROR_CODE_EMPTY_KEY);
    await refused(
      t,
      kv,
      kv.deleteRange({ key: b(''), rangeEnd: b('\0') }),
      status.INVALID_ARGUMENT,
      emptyKey,
      ErrorCode.ERROR_CODE_EMPTY_KEY,
    );
    await refused(
      t,
      kv,
      kv.txn({ success: [put('sentinel', 'bad'), put('')] }),
      status.INVALID_ARGUMENT,
      emptyKey,
      ErrorCode.ERROR_CODE_EMPTY_KEY,
    );
    await refused(
      t,
      kv,
      kv.txn({
        compare: [
          {
            key: b(''),
            target: Target.COMPARE_TARGET_VERSION,
            result: Result.COMPARE_RESULT_EQUAL,
            targetUnion: { $case: 'version', version: 0 },
          },
        ],
        success: [put('sentinel', 'bad')],
      }),
      status.INVALID_ARGUMENT,
      /compare key is empty/,
    );

    const bigKey = 'k'.repeat(33);
    await refused(
      t,
      kv,
      kv.set(bigKey, 'v'),
      status.INVALID_ARGUMENT,
      /key is 33 bytes; the limit is 32 \(--max-key-bytes\)/,
      ErrorCode.ERROR_CODE_KEY_TOO_LARGE,
    );
    await refused(t, kv, kv.range({ key: b(bigKey) }), status.INVALID_ARGUMENT, /the limit is 32 \(--max-key-bytes\)/);
    await refused(t, kv, kv.txn({ success: [put('sentinel', 'bad'), put(bigKey)] }), status.INVALID_ARGUMENT, /--max-key-bytes/);
    t.is((await kv.set('k'.repeat(32), 'v')).header!.revision, 5, 'a key of exactly the limit is accepted');

    const bigValue = Buffer.alloc(2049, 1);
    const err = await grpcError(kv.put({ key: b('sentinel'), value: bigValue }));
    t.is(err.code, status.INVALID_ARGUMENT);
    t.regex(err.details, /value is 2049 bytes; the limit is 2048 \(--max-value-bytes\)/);
    carries(t, err, ErrorCode.ERROR_CODE_VALUE_TOO_LARGE);
    t.is(s((await kv.get('sentinel')).kvs[0]?.value), 'v2');
  });

  test(`${engine}: requests over max request bytes and txns over max ops are RESOURCE_EXHAUSTED`, async (t) => {
    const { kv } = await setup(t, engine);
    // A value within the value limit but a request over the request limit.
    await refused(
      t,
      kv,
      kv.put({ key: b('sentinel'), value: Buffer.alloc(1500, 1) }),
      status.RESOURCE_EXHAUSTED,
      /request carries 1508 bytes of keys and values; the limit is 1024 \(--max-request-bytes\)/,
      ErrorCode.ERROR_CODE_REQUEST_TOO_LARGE,
    );
    // Three puts of 400 bytes: each fits, together they do not; none is applied.
    await refused(
      t,
      kv,
      kv.txn({ success: [put('sentinel', Buffer.alloc(400, 1)), put('t1', Buffer.alloc(400, 1)), put('t2', Buffer.alloc(400, 1))] }),
      status.RESOURCE_EXHAUSTED,
      /--max-request-bytes/,
      ErrorCode.ERROR_CODE_REQUEST_TOO_LARGE,
    );
    t.is((await kv.get('t1')).count, 0);
    // Far over the limit, past the transport's cap (2 x max request bytes + 1 MiB, room for
    // Raft appends): refused by gRPC before the handler, still RESOURCE_EXHAUSTED.
    await refused(
      t,
      kv,
      kv.put({ key: b('sentinel'), value: Buffer.alloc(2 * 1024 * 1024, 1) }),
      status.RESOURCE_EXHAUSTED,
      /larger than max/,
    );

    const five = [put('sentinel', 'bad'), put('t1'), put('t2'), put('t3'), put('t4')];
    await refused(
      t,
      kv,
      kv.txn({ success: five }),
      status.RESOURCE_EXHAUSTED,
      /txn success has 5 entries; the limit is 4 \(--max-txn-ops\)/,
      ErrorCode.ERROR_CODE_TOO_MANY_TXN_OPS,
    );
    await refused(t, kv, kv.txn({ failure: five }), status.RESOURCE_EXHAUSTED, /txn failure has 5 entries; the limit is 4/);
    const compare = {
      key: b('sentinel'),
      target: Target.COMPARE_TARGET_VERSION,
      result: Result.COMPARE_RESULT_GREATER,
      targetUnion: { $case: 'version' as const, version: 0 },
    };
    await refused(
      t,
      kv,
      kv.txn({ compare: [compare, compare, compare, compare, compare], success: [put('sentinel', 'bad')] }),
      status.RESOURCE_EXHAUSTED,
      /txn compare has 5 entries/,
    );
    await refused(
      t,
      kv,
      kv.txn({ success: [put('sentinel', 'bad'), { request: { $case: 'requestTxn', requestTxn: { success: five } } }] }),
      status.RESOURCE_EXHAUSTED,
      /txn success has 5 entries/,
    );
    // Nested operations count too (as in etcd): the outer txn uses 2 of the 4, so a nested
    // list of 3 is over; each list alone would be within the limit.
    const nestedThree = { request: { $case: 'requestTxn' as const, requestTxn: { success: [put('t1'), put('t2'), put('t3')] } } };
    await refused(
      t,
      kv,
      kv.txn({ success: [put('sentinel', 'bad'), nestedThree] }),
      status.RESOURCE_EXHAUSTED,
      /nested txn success has 3 entries; 2 of the limit of 4 are left after the enclosing txn \(--max-txn-ops\)/,
      ErrorCode.ERROR_CODE_TOO_MANY_TXN_OPS,
    );
    const deep = (depth: number): ReturnType<typeof put> | typeof nestedThree =>
      depth === 0
        ? put('t4')
        : ({ request: { $case: 'requestTxn' as const, requestTxn: { success: [deep(depth - 1)] } } } as typeof nestedThree);
    await refused(t, kv, kv.txn({ success: [put('sentinel', 'bad'), deep(4)] }), status.RESOURCE_EXHAUSTED, /--max-txn-ops/);
    for (const k of ['t1', 't2', 't3', 't4']) t.is((await kv.get(k)).count, 0, `${k} not written`);
    // Within the budget: 2 outer ops leave 2 for the nested txn.
    const nestedOk = await kv.txn({
      success: [put('n1'), { request: { $case: 'requestTxn', requestTxn: { success: [put('n2'), put('n3')] } } }],
    });
    t.is(nestedOk.header!.revision, 5);
    await kv.deleteRange({ key: b('n'), rangeEnd: b('o') }); // 6
    // Exactly at the limit is fine.
    const four = await kv.txn({ success: [put('t1'), put('t2'), put('t3'), put('t4')] });
    t.is(four.header!.revision, 7);
  });

  test(`${engine}: future and compacted revisions are OUT_OF_RANGE`, async (t) => {
    const { kv } = await setup(t, engine);
    await refused(
      t,
      kv,
      kv.get('sentinel', { revision: 5 }),
      status.OUT_OF_RANGE,
      /^revision 5 is in the future; the current revision is 4$/,
      ErrorCode.ERROR_CODE_FUTURE_REVISION,
    );
    await refused(t, kv, kv.get('sentinel', { revision: 1000 }), status.OUT_OF_RANGE, /revision 1000 is in the future/);
    // A txn reading a future revision applies none of its writes.
    await refused(
      t,
      kv,
      kv.txn({
        success: [put('sentinel', 'bad'), { request: { $case: 'requestRange', requestRange: { key: b('sentinel'), revision: 9 } } }],
      }),
      status.OUT_OF_RANGE,
      /revision 9 is in the future; the current revision is 4/,
    );
    await refused(t, kv, kv.compact({ revision: 5 }), status.OUT_OF_RANGE, /revision 5 is in the future/);

    await kv.compact({ revision: 3 });
    await refused(
      t,
      kv,
      kv.get('sentinel', { revision: 2 }),
      status.OUT_OF_RANGE,
      /^revision 2 has been compacted; the oldest available revision is 3$/,
      ErrorCode.ERROR_CODE_COMPACTED,
      3,
    );
    await refused(
      t,
      kv,
      kv.txn({
        success: [put('sentinel', 'bad'), { request: { $case: 'requestRange', requestRange: { key: b('sentinel'), revision: 2 } } }],
      }),
      status.OUT_OF_RANGE,
      /revision 2 has been compacted; the oldest available revision is 3/,
    );
    await refused(
      t,
      kv,
      kv.compact({ revision: 2 }),
      status.OUT_OF_RANGE,
      /oldest available revision is 3/,
      ErrorCode.ERROR_CODE_COMPACTED,
      3,
    );
    t.is(s((await kv.get('sentinel', { revision: 3 })).kvs[0]?.value), 'v1', 'the compacted revision itself is readable');
  });

  test(`${engine}: a lease that does not exist is NOT_FOUND`, async (t) => {
    const { kv } = await setup(t, engine);
    await refused(
      t,
      kv,
      kv.put({ key: b('sentinel'), value: b('bad'), lease: 42 }),
      status.NOT_FOUND,
      /^lease 42 not found$/,
      ErrorCode.ERROR_CODE_LEASE_NOT_FOUND,
    );
    await refused(t, kv, kv.put({ key: b('new'), value: b('bad'), lease: 7 }), status.NOT_FOUND, /lease 7 not found/);
    await refused(
      t,
      kv,
      kv.txn({ success: [put('sentinel', 'bad'), { request: { $case: 'requestPut', requestPut: { key: b('new'), lease: 3 } } }] }),
      status.NOT_FOUND,
      /lease 3 not found/,
    );
    t.is((await kv.get('new')).count, 0);
  });

  test(`${engine}: bad compares, negative numbers and unknown enums are INVALID_ARGUMENT`, async (t) => {
    const { kv } = await setup(t, engine);
    type CompareInput = NonNullable<TxnInput['compare']>[number];
    const txnWith = (compare: CompareInput) =>
      kv.txn({ compare: [compare], success: [put('sentinel', 'bad')], failure: [put('sentinel', 'worse')] });

    await refused(
      t,
      kv,
      txnWith({
        key: b('sentinel'),
        target: Target.COMPARE_TARGET_VERSION,
        result: Result.COMPARE_RESULT_EQUAL,
        targetUnion: { $case: 'value', value: b('v2') },
      }),
      status.INVALID_ARGUMENT,
      /compare target COMPARE_TARGET_VERSION needs its value in field version, not value/,
    );
    await refused(
      t,
      kv,
      txnWith({
        key: b('sentinel'),
        target: Target.COMPARE_TARGET_VALUE,
        result: Result.COMPARE_RESULT_EQUAL,
        targetUnion: { $case: 'modRevision', modRevision: 3 },
      }),
      status.INVALID_ARGUMENT,
      /needs its value in field value, not modRevision/,
    );
    await refused(
      t,
      kv,
      txnWith({ key: b('sentinel'), target: 99 as Target, result: Result.COMPARE_RESULT_EQUAL }),
      status.INVALID_ARGUMENT,
      /compare target must be VERSION, CREATE, MOD, VALUE or LEASE/,
      ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
    );
    await refused(
      t,
      kv,
      txnWith({ key: b('sentinel'), target: Target.COMPARE_TARGET_UNSPECIFIED, result: Result.COMPARE_RESULT_EQUAL }),
      status.INVALID_ARGUMENT,
      /compare target must be/,
    );
    await refused(
      t,
      kv,
      txnWith({
        key: b('sentinel'),
        target: Target.COMPARE_TARGET_VERSION,
        result: Result.COMPARE_RESULT_UNSPECIFIED,
        targetUnion: { $case: 'version', version: 2 },
      }),
      status.INVALID_ARGUMENT,
      /compare result must be EQUAL, GREATER, LESS or NOT_EQUAL/,
    );
    await refused(
      t,
      kv,
      txnWith({
        key: b('sentinel'),
        target: Target.COMPARE_TARGET_VERSION,
        result: 9 as Result,
        targetUnion: { $case: 'version', version: 2 },
      }),
      status.INVALID_ARGUMENT,
      /compare result must be/,
    );
    await refused(t, kv, kv.txn({ success: [put('sentinel', 'bad'), {}] }), status.INVALID_ARGUMENT, /txn operation has no request set/);

    await refused(
      t,
      kv,
      kv.get('sentinel', { limit: -1 }),
      status.INVALID_ARGUMENT,
      /^limit is -1; it must be 0 \(no limit\) or positive$/,
      ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
    );
    await refused(
      t,
      kv,
      kv.get('sentinel', { revision: -2 }),
      status.INVALID_ARGUMENT,
      /revision is -2; it must be 0 \(latest\) or positive/,
    );
    await refused(
      t,
      kv,
      kv.get('sentinel', { sortOrder: 7 as RangeRequest_SortOrder }),
      status.INVALID_ARGUMENT,
      /sort_order 7 is not a known value/,
    );
    await refused(
      t,
      kv,
      kv.get('sentinel', { sortTarget: 6 as RangeRequest_SortTarget }),
      status.INVALID_ARGUMENT,
      /sort_target 6 is not a known value/,
    );
    await refused(t, kv, kv.compact({ revision: 0 }), status.INVALID_ARGUMENT, /compaction needs a positive revision/);
    await refused(t, kv, kv.compact({ revision: -5 }), status.INVALID_ARGUMENT, /revision is -5/);
    await refused(
      t,
      kv,
      kv.put({ key: b('sentinel'), value: b('bad'), ignoreValue: true }),
      status.INVALID_ARGUMENT,
      /ignore_value is set, so value must be empty/,
    );
  });
}

// The watch path goes through the same table: a stream refused or ended by the node, and a
// watch canceled because of an error, carry the status and ErrorInfo a call would.
const engine: EngineName = 'rocksdb';

test(`${engine}: a watch stream over --max-watch-streams ends with TOO_MANY_WATCH_STREAMS, RESOURCE_EXHAUSTED`, async (t) => {
  const n = await startApiNode(t, engine, { limits: { maxWatchStreams: 1 } });
  const first = n.openWatch({ ownChannel: true });
  await first.create({ key: b('a') });
  const second = n.openWatch({ ownChannel: true });
  second.requestProgress();
  await waitUntil(() => second.error !== undefined, 5_000, 'the second stream to be refused');
  const err = second.error!;
  t.is(err.code, status.RESOURCE_EXHAUSTED, statusName(err.code));
  t.regex(err.details, /the node already serves 1 watch streams; the limit is 1 \(--max-watch-streams\)/);
  carries(t, err, ErrorCode.ERROR_CODE_TOO_MANY_WATCH_STREAMS);
  t.is(first.error, undefined, 'the admitted stream goes on');
});

test(`${engine}: a stream ended by a stopping node carries STOPPING, UNAVAILABLE`, async (t) => {
  const n = await startApiNode(t, engine);
  const w = n.openWatch();
  await w.create({ key: b('a') });
  await n.node.close();
  await waitUntil(() => w.error !== undefined, 5_000, 'the stream to end with an error');
  t.is(w.error!.code, status.UNAVAILABLE, statusName(w.error!.code));
  carries(t, w.error!, ErrorCode.ERROR_CODE_STOPPING);
});

test(`${engine}: watches canceled because of an error carry cancel_status from the table; a client cancel carries none`, async (t) => {
  const n = await startApiNode(t, engine, { limits: { maxWatchesPerStream: 2 } });
  const w = n.openWatch();
  canceledWith(t, await w.createRaw({ key: b('') }), status.INVALID_ARGUMENT, ErrorCode.ERROR_CODE_EMPTY_KEY, /key is empty/);
  canceledWith(
    t,
    await w.createRaw({ key: b('x'), startRevision: -3 }),
    status.INVALID_ARGUMENT,
    ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
    /start_revision is -3/,
  );
  canceledWith(
    t,
    await w.createRaw({ key: b('x'), filters: [7 as Filter] }),
    status.INVALID_ARGUMENT,
    ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
    /filter 7/,
  );
  const first = await w.create({ key: b('a') });
  canceledWith(
    t,
    await w.createRaw({ key: b('a'), watchId: first }),
    status.ALREADY_EXISTS,
    ErrorCode.ERROR_CODE_DUPLICATE_WATCH_ID,
    /already in use/,
  );
  await w.create({ key: b('b') });
  canceledWith(
    t,
    await w.createRaw({ key: b('c') }),
    status.RESOURCE_EXHAUSTED,
    ErrorCode.ERROR_CODE_TOO_MANY_WATCHES,
    /--max-watches-per-stream/,
  );

  w.cancel(first);
  const byClient = await w.waitFor((r) => r.watchId === first && r.canceled && !r.created, 'the client cancel to be confirmed');
  t.is(byClient.cancelStatus, undefined, 'a cancel the client asked for is not an error');
  t.is(w.error, undefined, 'none of these ended the stream');

  // A watch whose start revision is compacted: OUT_OF_RANGE, with the compacted revision.
  for (let i = 1; i <= 4; i++) await n.kv.set('k', String(i));
  await n.kv.compact({ revision: 3, physical: true });
  const other = n.openWatch();
  const created = await other.createRaw({ key: b('k'), startRevision: 1 });
  const compacted = await other.waitFor((r) => r.watchId === created.watchId && r.canceled, 'the compacted watch to be canceled');
  t.is(compacted.compactRevision, 3);
  canceledWith(
    t,
    compacted,
    status.OUT_OF_RANGE,
    ErrorCode.ERROR_CODE_COMPACTED,
    /^revision 1 has been compacted; the oldest available revision is 3$/,
  );
});
