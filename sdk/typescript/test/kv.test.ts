/**
 * KV, transactions, compaction, watch basics and typed config against a real three-member
 * cluster (one cluster for the file; each test uses its own keys).
 */
import anyTest, { type TestFn } from 'ava';
import { startClusterProcesses, type ClusterProcesses } from '../../../test/helpers/cluster-process.js';
import { CairnClient, CairnError, Compare, ErrorCode, Op, type WatchBatch } from '../src/index.js';
import { prefixEnd } from '../src/bytes.js';
import { retryable } from '../src/pool.js';

const test = anyTest as TestFn<{ cluster: ClusterProcesses; client: CairnClient }>;

test.before(async (t) => {
  const cluster = await startClusterProcesses(3);
  await cluster.waitForLeader();
  t.context = { cluster, client: new CairnClient({ endpoints: cluster.endpoints[0]! }) };
});

test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.cluster?.cleanup();
});

test('discovers every member from one endpoint', async (t) => {
  const { client, cluster } = t.context;
  await client.put('disc/k', 'v');
  t.deepEqual([...client.endpoints].sort(), [...cluster.endpoints].sort());
});

test('put, get, range, delete with string and Buffer keys', async (t) => {
  const { client } = t.context;
  const p1 = await client.put('kv/a', 'one');
  const p2 = await client.put(Buffer.from('kv/b'), Buffer.from([0, 1, 2]), { prevKv: true });
  t.true(p2.revision > p1.revision);
  t.is(p2.prevKv, undefined, 'no previous version of a new key');
  const p3 = await client.put('kv/a', 'two', { prevKv: true });
  t.is(p3.prevKv?.valueString, 'one');

  const a = await client.get('kv/a');
  t.is(a?.valueString, 'two');
  t.is(a?.version, 2n);
  t.is(a?.createRevision, p1.revision);
  t.is(a?.modRevision, p3.revision);
  t.is(await client.get('kv/missing'), undefined);
  t.is((await client.get('kv/a', { revision: p1.revision }))?.valueString, 'one', 'a read at a past revision');

  await client.put('kv/c', 'three');
  await client.put('kv0', 'outside the prefix');
  const all = await client.getPrefix('kv/');
  t.is(all.count, 3);
  t.deepEqual(
    all.kvs.map((kv) => kv.keyString),
    ['kv/a', 'kv/b', 'kv/c'],
  );
  t.deepEqual(all.kvs[1]?.value, Buffer.from([0, 1, 2]));
  const limited = await client.range({ prefix: 'kv/' }, { limit: 1, sortBy: 'key', sortOrder: 'descend' });
  t.deepEqual(
    limited.kvs.map((kv) => kv.keyString),
    ['kv/c'],
  );
  t.true(limited.more);
  const between = await client.range({ key: 'kv/a', end: 'kv/c' }, { keysOnly: true });
  t.deepEqual(
    between.kvs.map((kv) => [kv.keyString, kv.valueString]),
    [
      ['kv/a', ''],
      ['kv/b', ''],
    ],
  );

  const one = await client.delete('kv/a');
  t.is(one.deleted, 1);
  const rest = await client.delete({ prefix: 'kv/' }, { prevKv: true });
  t.is(rest.deleted, 2);
  t.deepEqual(
    rest.prevKvs.map((kv) => kv.keyString),
    ['kv/b', 'kv/c'],
  );
  t.is((await client.getPrefix('kv/')).count, 0);
  t.is((await client.get('kv0'))?.valueString, 'outside the prefix');
});

test('txn compares value, version, create and mod revisions and runs then or else', async (t) => {
  const { client } = t.context;
  const created = await client.put('txn/k', 'v1');
  const ok = await client
    .txn()
    .if(
      Compare.value('txn/k', '==', 'v1'),
      Compare.version('txn/k', '==', 1),
      Compare.createRevision('txn/k', '==', created.revision),
      Compare.modRevision('txn/k', '<', created.revision + 1n),
      Compare.version('txn/absent', '==', 0),
    )
    .then(Op.put('txn/k', 'v2'), Op.get('txn/k'))
    .else(Op.delete('txn/k'))
    .commit();
  t.true(ok.succeeded);
  t.is(ok.results.length, 2);
  const read = ok.results[1];
  t.is(read?.type === 'get' ? read.get.kvs[0]?.valueString : undefined, 'v2', 'ops see the earlier ops of their transaction');

  const failed = await client
    .txn()
    .if(Compare.value('txn/k', '!=', 'v2'))
    .then(Op.delete('txn/k'))
    .else(Op.get({ prefix: 'txn/' }))
    .commit();
  t.false(failed.succeeded);
  const got = failed.results[0];
  t.deepEqual(
    got?.type === 'get' ? got.get.kvs.map((kv) => [kv.valueString, kv.modRevision]) : [],
    [['v2', ok.revision]],
    'the else branch wrote nothing',
  );
  t.throws(() => client.txn().then((() => undefined) as never), { instanceOf: TypeError }, 'a txn is not a promise');
});

test('errors carry the gRPC status and the server code, as the generated ErrorCode', async (t) => {
  const { client } = t.context;
  const empty = await t.throwsAsync(client.put('', 'v'), { instanceOf: CairnError });
  t.is(empty?.codeName, 'INVALID_ARGUMENT');
  t.is(empty?.code, 3);
  t.is(empty?.cairnCode, ErrorCode.ERROR_CODE_EMPTY_KEY);
  t.is(empty?.cairnCodeName, 'ERROR_CODE_EMPTY_KEY');
  t.true(empty?.isInvalidArgument);
  const future = await t.throwsAsync(client.get('x', { revision: 1_000_000 }), { instanceOf: CairnError });
  t.is(future?.cairnCode, ErrorCode.ERROR_CODE_FUTURE_REVISION);
  t.true(future?.isFutureRevision);
  // The server's default limit is 128 operations per txn list.
  const ops = Array.from({ length: 129 }, (_, i) => Op.put(`many/${i}`, 'v'));
  const tooMany = await t.throwsAsync(
    client
      .txn()
      .then(...ops)
      .commit(),
    { instanceOf: CairnError },
  );
  t.is(tooMany?.codeName, 'RESOURCE_EXHAUSTED');
  t.is(tooMany?.cairnCode, ErrorCode.ERROR_CODE_TOO_MANY_TXN_OPS);
});

test('watch yields per-revision batches from a start revision, with prevKv, and break cancels it', async (t) => {
  const { client } = t.context;
  const first = await client.put('w/a', '1');
  const both = await client.txn().then(Op.put('w/a', '2'), Op.put('w/b', '3')).commit();
  const gone = await client.delete('w/b');
  const seen: WatchBatch[] = [];
  for await (const batch of client.watch('w/', { prefix: true, startRevision: first.revision, prevKv: true })) {
    seen.push(batch);
    if (seen.length === 3) break;
  }
  t.deepEqual(
    seen.map((b) =>
      b.events.map(
        (e) => `${b.revision}=${e.kv.modRevision} ${e.type} ${e.kv.keyString}=${e.kv.valueString} prev=${e.prevKv?.valueString ?? '-'}`,
      ),
    ),
    [
      [`${first.revision}=${first.revision} put w/a=1 prev=-`],
      [`${both.revision}=${both.revision} put w/a=2 prev=1`, `${both.revision}=${both.revision} put w/b=3 prev=-`],
      [`${gone.revision}=${gone.revision} delete w/b= prev=3`],
    ],
  );

  // Without a start revision a watch follows only later changes.
  const live = client.watch('w/a');
  const next = live.next();
  // A watch from now starts when the member creates it, which the caller can't see: put
  // until it delivers (rather than hope it was created before one put), then check that it
  // delivered one of those puts.
  const puts: bigint[] = [];
  let got: Awaited<typeof next> | undefined;
  while (got === undefined) {
    puts.push((await client.put('w/a', 'live')).revision);
    got = await Promise.race([next, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
  }
  t.true(
    !got.done && puts.includes(got.value.revision),
    `delivered revision ${got.done ? '(none)' : got.value.revision}; puts at ${puts.join(', ')}`,
  );
  t.deepEqual(await live.return(), { value: undefined, done: true });
  t.deepEqual(await live.next(), { value: undefined, done: true });
});

test.serial('compaction: reads and watches below it fail with isCompacted', async (t) => {
  const { client } = t.context;
  const old = await client.put('cmp/k', 'old');
  const now = await client.put('cmp/k', 'new');
  await client.compact(now.revision);
  const read = await t.throwsAsync(client.get('cmp/k', { revision: old.revision }), { instanceOf: CairnError });
  t.true(read?.isCompacted);
  t.is(read?.codeName, 'OUT_OF_RANGE');
  t.is(read?.cairnCode, ErrorCode.ERROR_CODE_COMPACTED);
  t.is(read?.compactRevision, now.revision, 'the ErrorInfo names the oldest revision left');
  const watched = await t.throwsAsync(
    (async () => {
      for await (const _ of client.watch('cmp/k', { startRevision: old.revision })) t.fail('no event below the compaction');
    })(),
    { instanceOf: CairnError },
  );
  t.true(watched?.isCompacted);
  t.is(watched?.codeName, 'OUT_OF_RANGE', 'a canceled watch carries the status a call would');
  t.is(watched?.compactRevision, now.revision);
});

interface Limits {
  maxConnections: number;
  mode: 'strict' | 'lenient';
}

function decodeLimits(json: unknown): Limits {
  const o = json as Partial<Limits> | null;
  if (typeof o?.maxConnections !== 'number' || (o.mode !== 'strict' && o.mode !== 'lenient')) throw new TypeError('not Limits');
  return { maxConnections: o.maxConnections, mode: o.mode };
}

test('getConfig decodes and validates JSON', async (t) => {
  const { client } = t.context;
  await client.put('cfg/limits', JSON.stringify({ maxConnections: 10, mode: 'strict' }));
  t.deepEqual(await client.getConfig('cfg/limits', { decode: decodeLimits }), { maxConnections: 10, mode: 'strict' });
  t.is(await client.getConfig('cfg/absent', { decode: decodeLimits }), undefined);
  await client.put('cfg/bad', JSON.stringify({ maxConnections: 'many' }));
  await t.throwsAsync(client.getConfig('cfg/bad', { decode: decodeLimits }), { instanceOf: TypeError, message: 'not Limits' });
  await client.put('cfg/notjson', '{');
  await t.throwsAsync(client.getConfig('cfg/notjson'), { instanceOf: TypeError, message: /not JSON/ });
});

test('watchConfig yields the current version, then each new one, typed', async (t) => {
  const { client } = t.context;
  const v1 = await client.put('cfg/watched', JSON.stringify({ maxConnections: 1, mode: 'strict' }));
  const versions = client.watchConfig('cfg/watched', { decode: decodeLimits });
  const first = await versions.next();
  t.deepEqual(first.value, { value: { maxConnections: 1, mode: 'strict' }, revision: v1.revision });
  // Written after the current version was read: each must come through, in order.
  const v2 = await client.put('cfg/watched', JSON.stringify({ maxConnections: 2, mode: 'lenient' }));
  const gone = await client.delete('cfg/watched');
  const v3 = await client.put('cfg/watched', JSON.stringify({ maxConnections: 3, mode: 'strict' }));
  const seen = [];
  for await (const v of versions) {
    seen.push(v);
    if (seen.length === 3) break;
  }
  t.deepEqual(seen, [
    { value: { maxConnections: 2, mode: 'lenient' }, revision: v2.revision },
    { value: undefined, revision: gone.revision },
    { value: { maxConnections: 3, mode: 'strict' }, revision: v3.revision },
  ]);
});

test('prefixEnd increments the last byte below 0xff', (t) => {
  t.deepEqual(prefixEnd(Buffer.from('a/')), Buffer.from('a0'));
  t.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  t.deepEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
});

test('retry policy: reads retry transient failures, writes only when surely not applied', (t) => {
  const err = (code: number, cairnCode?: ErrorCode, notSent = false): CairnError =>
    new CairnError({ code, message: 'x', cairnCode, notSent });
  const UNAVAILABLE = 14;
  const DEADLINE_EXCEEDED = 4;
  for (const safety of ['read', 'write'] as const) {
    t.true(retryable(err(UNAVAILABLE, ErrorCode.ERROR_CODE_NO_LEADER), safety, false), `${safety}: NO_LEADER was not applied`);
    t.true(retryable(err(UNAVAILABLE, ErrorCode.ERROR_CODE_STOPPING), safety, false));
    t.true(retryable(err(UNAVAILABLE, undefined, true), safety, false), `${safety}: never connected`);
    t.false(retryable(err(3, ErrorCode.ERROR_CODE_EMPTY_KEY), safety, true), `${safety}: a bad request stays bad`);
    t.false(retryable(err(11, ErrorCode.ERROR_CODE_COMPACTED), safety, true));
  }
  t.true(retryable(err(UNAVAILABLE, ErrorCode.ERROR_CODE_TIMEOUT), 'read', false));
  t.true(retryable(err(DEADLINE_EXCEEDED), 'read', false));
  t.false(retryable(err(UNAVAILABLE, ErrorCode.ERROR_CODE_TIMEOUT), 'write', false), 'a timed-out write may have applied');
  t.false(retryable(err(UNAVAILABLE), 'write', false), 'a dropped connection may have carried the write');
  t.true(retryable(err(UNAVAILABLE, ErrorCode.ERROR_CODE_TIMEOUT), 'write', true), 'unless the caller says it is idempotent');
  t.true(err(UNAVAILABLE, ErrorCode.ERROR_CODE_TIMEOUT).isOutcomeUnknown);
  t.false(err(UNAVAILABLE, ErrorCode.ERROR_CODE_NO_LEADER).isOutcomeUnknown);
});
