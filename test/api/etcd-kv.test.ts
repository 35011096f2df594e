// etcd's KV service (etcdserverpb.KV) on a real member, through grpc-js clients generated
// from etcd's protos: headers, Range options (limits, sorting, revision filters, keys/count
// only), Put/DeleteRange options, Txn compares and nesting, and etcd's exact errors
// (compacted, future revision, duplicate key in a txn, too many operations, ...).
import test, { type ExecutionContext } from 'ava';
import { status } from '@grpc/grpc-js';
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
} from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { b, grpcError, s, startApiNode } from '../helpers/grpc-clients.js';
import { EtcdClients } from '../helpers/etcd-clients.js';

async function etcdNode(t: ExecutionContext, limits = {}) {
  const n = await startApiNode(t, 'rocksdb', { limits });
  return { ...n, etcd: new EtcdClients(t, n.address) };
}

test('headers carry the cluster id, member id, revision and Raft term, the same as cairn.v1', async (t) => {
  const { etcd, kv } = await etcdNode(t);
  const put = await etcd.put({ key: b('a'), value: b('1') });
  const cairn = await kv.range({ key: b('a') });
  t.truthy(put.header);
  t.is(put.header!.clusterId, cairn.header!.clusterId);
  t.is(put.header!.memberId, cairn.header!.memberId);
  t.is(put.header!.revision, cairn.header!.revision);
  t.true(put.header!.raftTerm >= 1);
  t.not(put.header!.clusterId, 0);
  // One store, one revision sequence: a cairn.v1 write is seen through etcd's API.
  await kv.put({ key: b('b'), value: b('2') });
  const got = await etcd.range({ key: b('b') });
  t.is(s(got.kvs[0]?.value), '2');
  t.is(got.header!.revision, put.header!.revision + 1);
});

test('Range: prefixes, "\\0" ends, limit with more and count, sort, keys_only, count_only, revision', async (t) => {
  const { etcd } = await etcdNode(t);
  const puts: [string, string][] = [
    ['p/c', '1'],
    ['p/a', '3'],
    ['p/b', '2'],
    ['q', '0'],
  ];
  for (const [k, v] of puts) await etcd.put({ key: b(k), value: b(v) });
  const first = (await etcd.range({ key: b('p/a') })).kvs[0]!;

  const prefix = await etcd.range({ key: b('p/'), rangeEnd: b('p0') });
  t.deepEqual(
    prefix.kvs.map((kv) => s(kv.key)),
    ['p/a', 'p/b', 'p/c'],
  );
  t.is(prefix.count, 3);
  t.false(prefix.more);

  const all = await etcd.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
  t.is(all.count, 4);
  const fromKey = await etcd.range({ key: b('p/b'), rangeEnd: Buffer.from([0]) });
  t.deepEqual(
    fromKey.kvs.map((kv) => s(kv.key)),
    ['p/b', 'p/c', 'q'],
  );

  const limited = await etcd.range({ key: b('p/'), rangeEnd: b('p0'), limit: 2 });
  t.deepEqual(
    limited.kvs.map((kv) => s(kv.key)),
    ['p/a', 'p/b'],
  );
  t.true(limited.more);
  t.is(limited.count, 3);

  const byValueDesc = await etcd.range({
    key: b('p/'),
    rangeEnd: b('p0'),
    sortOrder: RangeRequest_SortOrder.DESCEND,
    sortTarget: RangeRequest_SortTarget.VALUE,
  });
  t.deepEqual(
    byValueDesc.kvs.map((kv) => s(kv.value)),
    ['3', '2', '1'],
  );
  // etcd: a target other than KEY with order NONE sorts ascending.
  const byCreate = await etcd.range({ key: b('p/'), rangeEnd: b('p0'), sortTarget: RangeRequest_SortTarget.CREATE });
  t.deepEqual(
    byCreate.kvs.map((kv) => s(kv.key)),
    ['p/c', 'p/a', 'p/b'],
  );
  const keyDesc = await etcd.range({ key: b('p/'), rangeEnd: b('p0'), sortOrder: RangeRequest_SortOrder.DESCEND, limit: 1 });
  t.deepEqual(
    keyDesc.kvs.map((kv) => s(kv.key)),
    ['p/c'],
  );

  const keysOnly = await etcd.range({ key: b('p/'), rangeEnd: b('p0'), keysOnly: true });
  t.true(keysOnly.kvs.every((kv) => kv.value.length === 0 && kv.modRevision > 0));
  const countOnly = await etcd.range({ key: b('p/'), rangeEnd: b('p0'), countOnly: true });
  t.deepEqual(countOnly.kvs, []);
  t.is(countOnly.count, 3);

  await etcd.put({ key: b('p/a'), value: b('new') });
  const old = await etcd.range({ key: b('p/a'), revision: first.modRevision });
  t.is(s(old.kvs[0]?.value), '3');
  const serializable = await etcd.range({ key: b('p/a'), serializable: true });
  t.is(s(serializable.kvs[0]?.value), 'new');
});

test('Range revision filters: applied before the limit; count is the range before filtering (as etcd)', async (t) => {
  const { etcd } = await etcdNode(t);
  const revs: number[] = [];
  for (const k of ['f/1', 'f/2', 'f/3', 'f/4']) revs.push((await etcd.put({ key: b(k), value: b('v') })).header!.revision);
  await etcd.put({ key: b('f/1'), value: b('w') });
  const range = { key: b('f/'), rangeEnd: b('f0') };

  const minMod = await etcd.range({ ...range, minModRevision: revs[2]! });
  t.deepEqual(
    minMod.kvs.map((kv) => s(kv.key)),
    ['f/1', 'f/3', 'f/4'],
  );
  t.is(minMod.count, 4);
  const maxCreate = await etcd.range({ ...range, maxCreateRevision: revs[1]! });
  t.deepEqual(
    maxCreate.kvs.map((kv) => s(kv.key)),
    ['f/1', 'f/2'],
  );
  const both = await etcd.range({ ...range, minCreateRevision: revs[1]!, maxModRevision: revs[3]! });
  t.deepEqual(
    both.kvs.map((kv) => s(kv.key)),
    ['f/2', 'f/3', 'f/4'],
  );
  const limited = await etcd.range({ ...range, minModRevision: revs[2]!, limit: 2 });
  t.deepEqual(
    limited.kvs.map((kv) => s(kv.key)),
    ['f/1', 'f/3'],
  );
  t.true(limited.more);
  const exact = await etcd.range({ ...range, minModRevision: revs[2]!, limit: 3 });
  t.false(exact.more);
});

test('Put and DeleteRange: prev_kv, leases, ignore_value, ignore_lease, ranges; etcd errors for bad input', async (t) => {
  const { etcd } = await etcdNode(t);
  const lease = await etcd.grant(60);
  await etcd.put({ key: b('k'), value: b('1'), lease: lease.ID });
  const second = await etcd.put({ key: b('k'), value: b('2'), prevKv: true, ignoreLease: true });
  t.is(s(second.prevKv?.value), '1');
  const kept = (await etcd.range({ key: b('k') })).kvs[0]!;
  t.is(kept.lease, lease.ID);
  t.is(kept.version, 2);
  await etcd.put({ key: b('k'), ignoreValue: true, lease: 0 });
  const moved = (await etcd.range({ key: b('k') })).kvs[0]!;
  t.is(s(moved.value), '2');
  t.is(moved.lease, 0);

  const missing = await grpcError(etcd.put({ key: b('nope'), ignoreValue: true }));
  t.is(missing.code, status.INVALID_ARGUMENT);
  t.is(missing.details, 'etcdserver: key not found');
  const valueGiven = await grpcError(etcd.put({ key: b('k'), value: b('x'), ignoreValue: true }));
  t.is(valueGiven.details, 'etcdserver: value is provided');
  const leaseGiven = await grpcError(etcd.put({ key: b('k'), lease: 5, ignoreLease: true }));
  t.is(leaseGiven.details, 'etcdserver: lease is provided');
  const noKey = await grpcError(etcd.put({ key: b(''), value: b('x') }));
  t.is(noKey.code, status.INVALID_ARGUMENT);
  t.is(noKey.details, 'etcdserver: key is not provided');
  const noLease = await grpcError(etcd.put({ key: b('k'), value: b('x'), lease: 12345 }));
  t.is(noLease.code, status.NOT_FOUND);
  t.is(noLease.details, 'etcdserver: requested lease not found');

  for (const k of ['d/1', 'd/2', 'd/3', 'e']) await etcd.put({ key: b(k), value: b(k) });
  const del = await etcd.deleteRange({ key: b('d/'), rangeEnd: b('d0'), prevKv: true });
  t.is(del.deleted, 3);
  t.deepEqual(
    del.prevKvs.map((kv) => s(kv.value)),
    ['d/1', 'd/2', 'd/3'],
  );
  const fromKey = await etcd.deleteRange({ key: b('e'), rangeEnd: Buffer.from([0]) });
  t.is(fromKey.deleted, 2, '"\\0" deletes every key >= key: e and k');
  t.is((await etcd.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) })).count, 0);
});

test('Txn: compares on value, version, create, mod and lease over ranges; nested txns; responses', async (t) => {
  const { etcd } = await etcdNode(t);
  const lease = await etcd.grant(60);
  const created = (await etcd.put({ key: b('t/a'), value: b('1'), lease: lease.ID })).header!.revision;
  await etcd.put({ key: b('t/b'), value: b('1') });
  const cmp = (target: Compare_CompareTarget, result: Compare_CompareResult, union: object, key = 't/a', rangeEnd?: string) => ({
    key: b(key),
    ...(rangeEnd === undefined ? {} : { rangeEnd: b(rangeEnd) }),
    target,
    result,
    targetUnion: union,
  });
  const ok = await etcd.txn({
    compare: [
      cmp(Compare_CompareTarget.VALUE, Compare_CompareResult.EQUAL, { $case: 'value', value: b('1') }, 't/', 't0'),
      cmp(Compare_CompareTarget.VERSION, Compare_CompareResult.EQUAL, { $case: 'version', version: 1 }),
      cmp(Compare_CompareTarget.CREATE, Compare_CompareResult.EQUAL, { $case: 'createRevision', createRevision: created }),
      cmp(Compare_CompareTarget.MOD, Compare_CompareResult.LESS, { $case: 'modRevision', modRevision: created + 5 }),
      cmp(Compare_CompareTarget.LEASE, Compare_CompareResult.EQUAL, { $case: 'lease', lease: lease.ID }),
      cmp(Compare_CompareTarget.VALUE, Compare_CompareResult.NOT_EQUAL, { $case: 'value', value: b('2') }),
    ],
    success: [
      { request: { $case: 'requestPut', requestPut: { key: b('t/c'), value: b('3') } } },
      {
        request: {
          $case: 'requestTxn',
          requestTxn: {
            compare: [cmp(Compare_CompareTarget.VALUE, Compare_CompareResult.GREATER, { $case: 'value', value: b('5') }, 't/b')],
            success: [{ request: { $case: 'requestPut', requestPut: { key: b('t/x'), value: b('then') } } }],
            failure: [{ request: { $case: 'requestRange', requestRange: { key: b('t/b') } } }],
          },
        },
      },
    ],
    failure: [{ request: { $case: 'requestPut', requestPut: { key: b('t/fail'), value: b('x') } } }],
  });
  t.true(ok.succeeded);
  t.is(ok.responses.length, 2);
  const nested = ok.responses[1]?.response;
  t.is(nested?.$case, 'responseTxn');
  // Sub-response headers as etcd's apply sets them: only a revision; none for a nested txn.
  const firstPut = ok.responses[0]?.response;
  t.deepEqual(firstPut?.$case === 'responsePut' ? firstPut.responsePut.header : undefined, {
    clusterId: 0,
    memberId: 0,
    revision: ok.header!.revision,
    raftTerm: 0,
  });
  if (nested?.$case === 'responseTxn') {
    t.is(nested.responseTxn.header?.revision, 0);
    t.false(nested.responseTxn.succeeded);
    const after = nested.responseTxn.responses[0]?.response;
    t.is(after?.$case === 'responseRange' ? after.responseRange.header?.revision : -1, ok.header!.revision, 'a range after a put sees it');
    const inner = nested.responseTxn.responses[0]?.response;
    t.is(inner?.$case === 'responseRange' ? s(inner.responseRange.kvs[0]?.value) : undefined, '1');
  }
  t.is((await etcd.range({ key: b('t/c') })).count, 1);

  const failed = await etcd.txn({
    compare: [cmp(Compare_CompareTarget.VERSION, Compare_CompareResult.GREATER, { $case: 'version', version: 1 })],
    failure: [{ request: { $case: 'requestRange', requestRange: { key: b('t/a') } } }],
  });
  t.false(failed.succeeded);
  const range = failed.responses[0]?.response;
  t.is(range?.$case === 'responseRange' ? range.responseRange.header?.revision : -1, failed.header!.revision);
});

test('Txn: etcd refuses a key changed twice in one branch, and too many operations, with its messages', async (t) => {
  const { etcd, kv } = await etcdNode(t, { maxTxnOps: 4 });
  const put = (k: string) => ({ request: { $case: 'requestPut' as const, requestPut: { key: b(k), value: b('v') } } });
  const del = (k: string, end?: string) => ({
    request: {
      $case: 'requestDeleteRange' as const,
      requestDeleteRange: { key: b(k), ...(end === undefined ? {} : { rangeEnd: b(end) }) },
    },
  });
  const nested = (success: object[], failure: object[] = []) => ({
    request: { $case: 'requestTxn' as const, requestTxn: { success, failure } },
  });
  const refusals: [string, object][] = [
    ['two puts', { success: [put('a'), put('a')] }],
    ['a put into a deleted range', { failure: [del('a', 'c'), put('b')] }],
    ['a put and a delete of the key', { success: [put('a'), del('a')] }],
    ['a nested put of a key put outside', { success: [put('a'), nested([put('a')])] }],
    ['a nested put into a deleted range', { success: [del('a', 'z'), nested([], [put('m')])] }],
    ['two nested txns putting one key', { success: [nested([put('a')]), nested([put('a')])] }],
  ];
  for (const [what, txn] of refusals) {
    const err = await grpcError(etcd.txn(txn));
    t.is(err.code, status.INVALID_ARGUMENT, what);
    t.is(err.details, 'etcdserver: duplicate key given in txn request', what);
  }
  t.is((await etcd.range({ key: b('a'), rangeEnd: b('z') })).count, 0, 'nothing was applied');

  // Allowed: both branches of one nested txn putting the same key (only one runs), puts of different keys.
  await etcd.txn({ success: [nested([put('a')], [put('a')]), put('b')] });
  t.is((await etcd.range({ key: b('a'), rangeEnd: b('c') })).count, 2);
  // cairn.v1 itself allows several changes to one key (applied in order): its own API is unchanged.
  await kv.txn({
    success: [
      { request: { $case: 'requestPut', requestPut: { key: b('a'), value: b('1') } } },
      { request: { $case: 'requestPut', requestPut: { key: b('a'), value: b('2') } } },
    ],
  });

  const tooMany = await grpcError(etcd.txn({ success: [put('1'), put('2'), put('3'), put('4'), put('5')] }));
  t.is(tooMany.code, status.INVALID_ARGUMENT);
  t.is(tooMany.details, 'etcdserver: too many operations in txn request');
  // Nested operations count against what the enclosing txn leaves (etcd's maxTxnOps - opc).
  const nestedTooMany = await grpcError(etcd.txn({ success: [put('1'), put('2'), nested([put('3'), put('4'), put('5')])] }));
  t.is(nestedTooMany.details, 'etcdserver: too many operations in txn request');
  const empty = await grpcError(etcd.txn({ success: [{ request: undefined }] }));
  t.is(empty.details, 'etcdserver: key not found');
});

test('Range errors: compacted and future revisions, bad sort options, empty keys, as etcd', async (t) => {
  const { etcd } = await etcdNode(t);
  const r1 = (await etcd.put({ key: b('c'), value: b('1') })).header!.revision;
  await etcd.put({ key: b('c'), value: b('2') });
  const r3 = (await etcd.put({ key: b('c'), value: b('3') })).header!.revision;
  await etcd.compact({ revision: r3, physical: true });

  const compacted = await grpcError(etcd.range({ key: b('c'), revision: r1 }));
  t.is(compacted.code, status.OUT_OF_RANGE);
  t.is(compacted.details, 'etcdserver: mvcc: required revision has been compacted');
  const future = await grpcError(etcd.range({ key: b('c'), revision: r3 + 100 }));
  t.is(future.code, status.OUT_OF_RANGE);
  t.is(future.details, 'etcdserver: mvcc: required revision is a future revision');
  const again = await grpcError(etcd.compact({ revision: r1 }));
  t.is(again.details, 'etcdserver: mvcc: required revision has been compacted');
  const ahead = await grpcError(etcd.compact({ revision: r3 + 100 }));
  t.is(ahead.details, 'etcdserver: mvcc: required revision is a future revision');

  const sort = await grpcError(etcd.range({ key: b('c'), sortTarget: 9 as RangeRequest_SortTarget }));
  t.is(sort.code, status.INVALID_ARGUMENT);
  t.is(sort.details, 'etcdserver: invalid sort option');
  const empty = await grpcError(etcd.range({ key: b('') }));
  t.is(empty.details, 'etcdserver: key is not provided');
  // Negative limits and revisions mean "none" and "newest" to etcd.
  t.is(s((await etcd.range({ key: b('c'), limit: -1, revision: -1 })).kvs[0]?.value), '3');
});

test('with --etcd-compat=false the member serves no etcd service', async (t) => {
  const n = await startApiNode(t, 'rocksdb', { node: { etcdCompat: false } });
  const etcd = new EtcdClients(t, n.address);
  const err = await grpcError(etcd.range({ key: b('a') }));
  t.is(err.code, status.UNIMPLEMENTED);
  await n.kv.put({ key: b('a'), value: b('1') });
});
