/**
 * The MVCC store driven through the real single-node write path (Applier + LocalWriter),
 * against both engines.
 */
import test, { type ExecutionContext } from 'ava';
import {
  Compare_CompareResult as Result,
  Compare_CompareTarget as Target,
  RangeRequest_SortOrder as SortOrder,
  RangeRequest_SortTarget as SortTarget,
  TxnRequest,
  type Compare,
  type DeepPartial,
  type PutRequest,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
} from '../../gen/ts/cairn/v1/kv.js';
import { Event_EventType, type KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { Applier } from '../../server/apply/applier.js';
import { AlarmStore } from '../../server/apply/alarm-store.js';
import { AuthStore } from '../../server/apply/auth/auth-store.js';
import { ENGINE_NAMES, type EngineName } from '../../server/config.js';
import { CairnError, ErrorCode, type DomainErrorCode } from '../../server/errors.js';
import type { RevisionEvents } from '../../server/mvcc/events.js';
import { prefixEnd } from '../../server/mvcc/key-range.js';
import { MVCC_SPAN, parseRevisionKey } from '../../server/mvcc/schema.js';
import { b, compactCmd, delCmd, header, putCmd, TestStore } from '../helpers/mvcc-store.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

// ---- request builders ----

type Op = DeepPartial<RequestOp>;
const opPut = (key: string, value: string, extra: Omit<DeepPartial<PutRequest>, 'key' | 'value'> = {}): Op => ({
  request: { $case: 'requestPut', requestPut: { key: b(key), value: b(value), ...extra } },
});
const opDel = (key: string, rangeEnd = '', prevKv = false): Op => ({
  request: { $case: 'requestDeleteRange', requestDeleteRange: { key: b(key), rangeEnd: b(rangeEnd), prevKv } },
});
const opRange = (key: string, rangeEnd = '', extra: Omit<DeepPartial<RangeRequest>, 'key' | 'rangeEnd'> = {}): Op => ({
  request: { $case: 'requestRange', requestRange: { key: b(key), rangeEnd: b(rangeEnd), ...extra } },
});
const opTxn = (txn: DeepPartial<TxnRequest>): Op => ({ request: { $case: 'requestTxn', requestTxn: txn } });

type Union = Compare['targetUnion'];
function cmp(target: Target, result: Result, key: string, against: number | string, rangeEnd = ''): Compare {
  let targetUnion: Union;
  switch (target) {
    case Target.COMPARE_TARGET_VALUE:
      targetUnion = { $case: 'value', value: b(String(against)) };
      break;
    case Target.COMPARE_TARGET_VERSION:
      targetUnion = { $case: 'version', version: Number(against) };
      break;
    case Target.COMPARE_TARGET_CREATE:
      targetUnion = { $case: 'createRevision', createRevision: Number(against) };
      break;
    case Target.COMPARE_TARGET_MOD:
      targetUnion = { $case: 'modRevision', modRevision: Number(against) };
      break;
    default:
      targetUnion = { $case: 'lease', lease: Number(against) };
  }
  return { target, result, key: b(key), targetUnion, rangeEnd: b(rangeEnd) };
}

const keys = (r: { kvs: KeyValue[] }): string[] => r.kvs.map((kv) => kv.key.toString('latin1'));
const entries = (r: { kvs: KeyValue[] }): string[] => r.kvs.map((kv) => `${kv.key.toString('latin1')}=${kv.value.toString('latin1')}`);
const summary = (kv: KeyValue | undefined) =>
  kv === undefined
    ? undefined
    : { key: kv.key.toString(), value: kv.value.toString(), create: kv.createRevision, mod: kv.modRevision, version: kv.version };

async function expectCode(t: ExecutionContext, promise: Promise<unknown>, code: DomainErrorCode, message?: RegExp): Promise<CairnError> {
  const err = await t.throwsAsync(promise, { instanceOf: CairnError });
  t.is(err.code, code);
  if (message !== undefined) t.regex(err.message, message);
  return err;
}

/** Every stored (revision key) entry: [main, sub, tombstone]. */
async function storedRevisions(ts: TestStore): Promise<string[]> {
  const out: string[] = [];
  for await (const [key] of ts.engine.scan(MVCC_SPAN)) {
    const { rev, tombstone } = parseRevisionKey(key);
    out.push(`${rev.main}.${rev.sub}${tombstone ? 't' : ''}`);
  }
  return out;
}

async function snapshot(ts: TestStore, atRev = 0): Promise<RangeResponse['kvs']> {
  return (await ts.range('', '\0', { revision: atRev })).kvs;
}

function storeTest(engine: EngineName, title: string, fn: (t: ExecutionContext, ts: TestStore) => Promise<void>): void {
  test(`${engine}: ${title}`, async (t) => {
    const ts = await TestStore.create(engine);
    try {
      await fn(t, ts);
      t.deepEqual(ts.fatal, [], 'no fatal error on the write path');
    } finally {
      await ts.destroy();
    }
  });
}

for (const engine of ENGINE_NAMES) {
  storeTest(engine, 'revisions increase by one per write; create/mod revision and version per key', async (t, ts) => {
    t.is(ts.store.currentRevision, 1);
    t.is((await ts.put('a', '1')).header?.revision, 2);
    t.is((await ts.put('b', '1')).header?.revision, 3);
    t.is((await ts.put('a', '2')).header?.revision, 4);
    t.deepEqual(summary((await ts.range('a')).kvs[0]), { key: 'a', value: '2', create: 2, mod: 4, version: 2 });
    t.deepEqual(summary((await ts.range('b')).kvs[0]), { key: 'b', value: '1', create: 3, mod: 3, version: 1 });
    t.is((await ts.del('a')).header?.revision, 5);
    t.deepEqual((await ts.range('a')).kvs, []);
    // A new life: create revision and version start over.
    t.is((await ts.put('a', '3')).header?.revision, 6);
    t.deepEqual(summary((await ts.range('a')).kvs[0]), { key: 'a', value: '3', create: 6, mod: 6, version: 1 });
    const r = await ts.range('a');
    t.is(r.revision, 6);
    t.is(ts.store.currentRevision, 6);
    // Concurrent writes are batched but still get one revision each, in submission order.
    const heads = await Promise.all(Array.from({ length: 20 }, (_, i) => ts.put(`c${i}`, String(i))));
    t.deepEqual(
      heads.map((h) => h.header?.revision),
      Array.from({ length: 20 }, (_, i) => 7 + i),
    );
    t.is(ts.store.currentRevision, 26);
    t.is(ts.store.consistentIndex, 25);
  });

  storeTest(engine, 'sequential submits on the writer never stall', async (t, ts) => {
    // Submitting straight from the continuation of the previous submit (no extra ticks).
    for (let i = 0; i < 5; i++) {
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        ts.writer.submit(putCmd('k', String(i))),
        new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), MIN_WAIT_MS))),
      ]);
      clearTimeout(timer);
      t.not(outcome, 'stalled', `submit ${i}`);
    }
    t.is(ts.store.currentRevision, 6);
  });

  storeTest(engine, 'range: single key, [start, end), prefix, from-key, whole keyspace', async (t, ts) => {
    for (const k of ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c', '\xff', '\xff\xff']) await ts.put(k, `v${k}`);
    t.deepEqual(entries(await ts.range('ab')), ['ab=vab']);
    t.deepEqual(keys(await ts.range('nope')), []);
    t.is((await ts.range('nope')).count, 0);
    t.deepEqual(keys(await ts.range('ab', 'b')), ['ab', 'abc', 'abd']);
    t.deepEqual(keys(await ts.range('a', 'ab')), ['a']);
    t.deepEqual(keys(await ts.range('b', 'b')), []);
    t.deepEqual(keys(await ts.range('c', 'a')), []);
    const prefix = (p: string) => ts.range(p, prefixEnd(b(p)).toString('latin1'));
    t.deepEqual(keys(await prefix('ab')), ['ab', 'abc', 'abd']);
    t.deepEqual(keys(await prefix('b')), ['b', 'ba']);
    t.deepEqual(keys(await prefix('\xff')), ['\xff', '\xff\xff']);
    t.deepEqual(prefixEnd(b('a\xff')), b('b'));
    t.deepEqual(prefixEnd(b('\xff\xff')), Buffer.from([0]));
    t.deepEqual(keys(await ts.range('b', '\0')), ['b', 'ba', 'c', '\xff', '\xff\xff']);
    t.deepEqual(keys(await ts.range('\xff\xff', '\0')), ['\xff\xff']);
    t.deepEqual(keys(await ts.range('', '\0')), ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c', '\xff', '\xff\xff']);
  });

  storeTest(engine, 'range: limit, more, count, keys_only, count_only', async (t, ts) => {
    for (const k of ['a', 'b', 'c', 'd']) await ts.put(k, `v${k}`);
    const limited = await ts.range('a', '\0', { limit: 2 });
    t.deepEqual(keys(limited), ['a', 'b']);
    t.true(limited.more);
    t.is(limited.count, 4);
    const exact = await ts.range('a', '\0', { limit: 4 });
    t.is(exact.kvs.length, 4);
    t.false(exact.more);
    const over = await ts.range('b', '\0', { limit: 10 });
    t.deepEqual(keys(over), ['b', 'c', 'd']);
    t.false(over.more);
    t.is(over.count, 3);
    const keysOnly = await ts.range('a', 'c', { keysOnly: true });
    t.deepEqual(keys(keysOnly), ['a', 'b']);
    t.true(keysOnly.kvs.every((kv) => kv.value.length === 0));
    t.deepEqual(
      keysOnly.kvs.map((kv) => [kv.createRevision, kv.modRevision, kv.version]),
      [
        [2, 2, 1],
        [3, 3, 1],
      ],
    );
    const countOnly = await ts.range('a', '\0', { countOnly: true, limit: 1 });
    t.deepEqual(countOnly.kvs, []);
    t.is(countOnly.count, 4);
    t.false(countOnly.more);
    t.is((await ts.range('a', '\0', { countOnly: true, revision: 3 })).count, 2);
  });

  storeTest(engine, 'range: every sort target in every order, sorted before the limit', async (t, ts) => {
    // Final state of [a, d): a ver 2 create 3 mod 8 value "m"; b ver 1 create 5 mod 5 value "z";
    // c ver 3 create 1 mod 7 value "a". "z" keys are outside the range.
    await ts.put('c', 'c1'); // 1
    await ts.put('c', 'c2'); // 2
    await ts.put('a', 'a1'); // 3
    await ts.put('zz', 'x'); // 4
    await ts.put('b', 'z'); // 5
    await ts.put('zz', 'y'); // 6
    await ts.put('c', 'a'); // 7
    await ts.put('a', 'm'); // 8
    const ascending: Record<SortTarget, string[]> = {
      [SortTarget.SORT_TARGET_UNSPECIFIED]: ['a', 'b', 'c'],
      [SortTarget.SORT_TARGET_KEY]: ['a', 'b', 'c'],
      [SortTarget.SORT_TARGET_VERSION]: ['b', 'a', 'c'],
      [SortTarget.SORT_TARGET_CREATE]: ['c', 'a', 'b'],
      [SortTarget.SORT_TARGET_MOD]: ['b', 'c', 'a'],
      [SortTarget.SORT_TARGET_VALUE]: ['c', 'a', 'b'],
      [SortTarget.UNRECOGNIZED]: [],
    };
    for (const target of [
      SortTarget.SORT_TARGET_UNSPECIFIED,
      SortTarget.SORT_TARGET_KEY,
      SortTarget.SORT_TARGET_VERSION,
      SortTarget.SORT_TARGET_CREATE,
      SortTarget.SORT_TARGET_MOD,
      SortTarget.SORT_TARGET_VALUE,
    ]) {
      const asc = ascending[target];
      for (const order of [SortOrder.SORT_ORDER_UNSPECIFIED, SortOrder.SORT_ORDER_ASCEND, SortOrder.SORT_ORDER_DESCEND]) {
        const expected = order === SortOrder.SORT_ORDER_DESCEND ? [...asc].reverse() : asc;
        const label = `target ${SortTarget[target]} order ${SortOrder[order]}`;
        const all = await ts.range('a', 'd', { sortTarget: target, sortOrder: order });
        t.deepEqual(keys(all), expected, label);
        t.is(all.count, 3, label);
        const limited = await ts.range('a', 'd', { sortTarget: target, sortOrder: order, limit: 2 });
        t.deepEqual(keys(limited), expected.slice(0, 2), `${label} limit 2`);
        t.true(limited.more, label);
        t.is(limited.count, 3, label);
        // Values are right whatever the order (value sort loads values first).
        for (const kv of all.kvs) t.is(kv.value.toString(), { a: 'm', b: 'z', c: 'a' }[kv.key.toString() as 'a' | 'b' | 'c'], label);
        const keysOnly = await ts.range('a', 'd', { sortTarget: target, sortOrder: order, keysOnly: true });
        t.deepEqual(keys(keysOnly), expected, `${label} keys only`);
        t.true(
          keysOnly.kvs.every((kv) => kv.value.length === 0),
          label,
        );
      }
    }
  });

  storeTest(engine, 'range at past revisions; future revisions fail', async (t, ts) => {
    await ts.put('a', '1'); // 2
    await ts.put('b', '1'); // 3
    await ts.put('a', '2'); // 4
    await ts.del('b'); // 5
    await ts.put('b', '2'); // 6
    const at = async (rev: number) => entries(await ts.range('', '\0', { revision: rev }));
    t.deepEqual(await at(1), [], 'the store before its first write');
    t.deepEqual(await at(2), ['a=1']);
    t.deepEqual(await at(3), ['a=1', 'b=1']);
    t.deepEqual(await at(4), ['a=2', 'b=1']);
    t.deepEqual(await at(5), ['a=2']);
    t.deepEqual(await at(6), ['a=2', 'b=2']);
    t.deepEqual(await at(0), ['a=2', 'b=2']);
    // The header of a past read carries the current revision.
    t.is((await ts.range('a', '', { revision: 3 })).revision, 6);
    t.deepEqual(summary((await ts.range('b', '', { revision: 4 })).kvs[0]), { key: 'b', value: '1', create: 3, mod: 3, version: 1 });
    await expectCode(
      t,
      ts.range('a', '', { revision: 7 }),
      ErrorCode.ERROR_CODE_FUTURE_REVISION,
      /revision 7 is in the future; the current revision is 6/,
    );
  });

  storeTest(engine, 'reads observe only committed batches', async (t, ts) => {
    await ts.put('a', '1');
    const applier = new Applier(header, new AuthStore(), new AlarmStore());
    const batch = ts.store.beginBatch();
    const outcome = await applier.apply(batch, putCmd('a', '2'));
    t.true(outcome.ok);
    await applier.apply(batch, putCmd('new', 'x'));
    await applier.apply(batch, delCmd('a'));
    // Applied but not durable: reads still see revision 2.
    t.deepEqual(entries(await ts.range('', '\0')), ['a=1']);
    t.is(ts.store.currentRevision, 2);
    await expectCode(t, ts.range('a', '', { revision: 3 }), ErrorCode.ERROR_CODE_FUTURE_REVISION);
    await ts.store.commit(batch, 3, { sync: true });
    t.deepEqual(entries(await ts.range('', '\0')), ['new=x']);
    t.is(ts.store.currentRevision, 5);
    t.deepEqual(entries(await ts.range('', '\0', { revision: 3 })), ['a=2']);
  });

  storeTest(engine, 'put: prev_kv, ignore_value, ignore_lease', async (t, ts) => {
    const first = await ts.put('k', 'v1', { prevKv: true });
    t.is(first.prevKv, undefined);
    const second = await ts.put('k', 'v2', { prevKv: true });
    t.deepEqual(summary(second.prevKv), { key: 'k', value: 'v1', create: 2, mod: 2, version: 1 });
    const noPrev = await ts.put('k', 'v3');
    t.is(noPrev.prevKv, undefined);

    const keep = await ts.put('k', 'ignored', { ignoreValue: true, prevKv: true });
    t.is(keep.header?.revision, 5);
    t.deepEqual(summary(keep.prevKv), { key: 'k', value: 'v3', create: 2, mod: 4, version: 3 });
    t.deepEqual(summary((await ts.range('k')).kvs[0]), { key: 'k', value: 'v3', create: 2, mod: 5, version: 4 });
    await ts.put('k', 'v5', { ignoreLease: true });
    t.deepEqual(summary((await ts.range('k')).kvs[0]), { key: 'k', value: 'v5', create: 2, mod: 6, version: 5 });
    t.is((await ts.range('k')).kvs[0]?.lease, 0);

    // On a missing key (never existed, or deleted) both fail and change nothing.
    for (const extra of [{ ignoreValue: true }, { ignoreLease: true }]) {
      const err = await ts.fails(putCmd('missing', 'x', extra));
      t.is(err.code, ErrorCode.ERROR_CODE_KEY_NOT_FOUND);
    }
    await ts.del('k'); // 7
    t.is((await ts.fails(putCmd('k', 'x', { ignoreValue: true }))).code, ErrorCode.ERROR_CODE_KEY_NOT_FOUND);
    t.is(ts.store.currentRevision, 7);
    t.deepEqual(keys(await ts.range('', '\0')), []);
  });

  storeTest(engine, 'put with a lease fails with LEASE_NOT_FOUND and changes nothing', async (t, ts) => {
    await ts.put('k', 'v');
    const err = await ts.fails(putCmd('k', 'w', { lease: 42 }));
    t.is(err.code, ErrorCode.ERROR_CODE_LEASE_NOT_FOUND);
    t.regex(err.message, /42/);
    t.is(ts.store.currentRevision, 2);
    t.deepEqual(entries(await ts.range('k')), ['k=v']);
    // The next write gets the next revision: the failed one consumed none.
    t.is((await ts.put('k', 'x')).header?.revision, 3);
  });

  storeTest(engine, 'delete range: counts, prev_kv, no-op keeps the revision', async (t, ts) => {
    for (const k of ['a', 'b', 'ba', 'c']) await ts.put(k, `v${k}`); // 2..5
    const none = await ts.del('zzz', '', true);
    t.is(none.deleted, 0);
    t.deepEqual(none.prevKvs, []);
    t.is(none.header?.revision, 5);
    t.is(ts.store.currentRevision, 5);
    const noneRange = await ts.del('x', 'z');
    t.is(noneRange.deleted, 0);
    t.is(noneRange.header?.revision, 5);

    const single = await ts.del('a', '', true);
    t.is(single.deleted, 1);
    t.is(single.header?.revision, 6);
    t.deepEqual(single.prevKvs.map(summary), [{ key: 'a', value: 'va', create: 2, mod: 2, version: 1 }]);

    const ranged = await ts.del('b', 'c', true);
    t.is(ranged.deleted, 2);
    t.is(ranged.header?.revision, 7, 'one revision for a multi-key delete');
    t.deepEqual(
      ranged.prevKvs.map((kv) => kv.key.toString()),
      ['b', 'ba'],
    );
    const noPrev = await ts.del('', '\0');
    t.is(noPrev.deleted, 1);
    t.deepEqual(noPrev.prevKvs, []);
    t.is(noPrev.header?.revision, 8);
    // Deleting an already deleted key is a no-op.
    t.is((await ts.del('a')).deleted, 0);
    t.is(ts.store.currentRevision, 8);
    t.deepEqual(entries(await ts.range('', '\0', { revision: 6 })), ['b=vb', 'ba=vba', 'c=vc']);
  });

  storeTest(engine, 'txn: compares on value, version, create, mod, lease; every result kind', async (t, ts) => {
    await ts.put('k', 'm'); // 2
    await ts.put('k', 'm'); // 3: k version 2, create 2, mod 3, value "m"
    const holds = async (...compare: Compare[]): Promise<boolean> => {
      const before = ts.store.currentRevision;
      const res = await ts.txn({ compare });
      t.is(res.header?.revision, before, 'a txn without ops does not change the revision');
      return res.succeeded;
    };
    const cases: [Target, number | string, number | string, number | string][] = [
      // target, smaller than actual, actual, greater than actual
      [Target.COMPARE_TARGET_VALUE, 'l', 'm', 'n'],
      [Target.COMPARE_TARGET_VERSION, 1, 2, 3],
      [Target.COMPARE_TARGET_CREATE, 1, 2, 3],
      [Target.COMPARE_TARGET_MOD, 2, 3, 4],
      [Target.COMPARE_TARGET_LEASE, -1, 0, 1],
    ];
    for (const [target, lower, actual, higher] of cases) {
      const label = Target[target];
      t.true(await holds(cmp(target, Result.COMPARE_RESULT_EQUAL, 'k', actual)), label);
      t.false(await holds(cmp(target, Result.COMPARE_RESULT_EQUAL, 'k', lower)), label);
      t.true(await holds(cmp(target, Result.COMPARE_RESULT_NOT_EQUAL, 'k', higher)), label);
      t.false(await holds(cmp(target, Result.COMPARE_RESULT_NOT_EQUAL, 'k', actual)), label);
      t.true(await holds(cmp(target, Result.COMPARE_RESULT_GREATER, 'k', lower)), label);
      t.false(await holds(cmp(target, Result.COMPARE_RESULT_GREATER, 'k', actual)), label);
      t.true(await holds(cmp(target, Result.COMPARE_RESULT_LESS, 'k', higher)), label);
      t.false(await holds(cmp(target, Result.COMPARE_RESULT_LESS, 'k', actual)), label);
    }
    // Value compare is bytewise, not by length or string collation.
    t.true(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_GREATER, 'k', 'lzzz')));
    t.true(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_LESS, 'k', 'm\0')));
    // All compares must hold.
    t.false(
      await holds(
        cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_EQUAL, 'k', 2),
        cmp(Target.COMPARE_TARGET_MOD, Result.COMPARE_RESULT_EQUAL, 'k', 2),
      ),
    );
    t.true(
      await holds(
        cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_EQUAL, 'k', 2),
        cmp(Target.COMPARE_TARGET_MOD, Result.COMPARE_RESULT_EQUAL, 'k', 3),
      ),
    );
  });

  storeTest(engine, 'txn: a missing key has version/create/mod/lease 0 and fails any value compare', async (t, ts) => {
    await ts.put('gone', 'x');
    await ts.del('gone');
    for (const key of ['never', 'gone']) {
      const holds = async (c: Compare) => (await ts.txn({ compare: [c] })).succeeded;
      t.true(await holds(cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_EQUAL, key, 0)), key);
      t.true(await holds(cmp(Target.COMPARE_TARGET_CREATE, Result.COMPARE_RESULT_EQUAL, key, 0)), key);
      t.true(await holds(cmp(Target.COMPARE_TARGET_MOD, Result.COMPARE_RESULT_EQUAL, key, 0)), key);
      t.true(await holds(cmp(Target.COMPARE_TARGET_LEASE, Result.COMPARE_RESULT_EQUAL, key, 0)), key);
      t.false(await holds(cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_GREATER, key, 0)), key);
      t.true(await holds(cmp(Target.COMPARE_TARGET_MOD, Result.COMPARE_RESULT_LESS, key, 1)), key);
      // Value compares on a missing key fail whatever the relation.
      t.false(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_EQUAL, key, '')), key);
      t.false(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_NOT_EQUAL, key, 'x')), key);
      t.false(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_GREATER, key, '')), key);
      t.false(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_LESS, key, 'zz')), key);
    }
  });

  storeTest(engine, 'txn: range compares need every key in the range to hold', async (t, ts) => {
    await ts.put('p/a', '1'); // 2
    await ts.put('p/b', '1'); // 3
    await ts.put('p/b', '2'); // 4
    await ts.put('q', '9'); // 5
    const holds = async (c: Compare) => (await ts.txn({ compare: [c] })).succeeded;
    const end = prefixEnd(b('p/')).toString('latin1');
    t.true(await holds(cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_GREATER, 'p/', 0, end)));
    t.false(await holds(cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_EQUAL, 'p/', 1, end)));
    t.true(await holds(cmp(Target.COMPARE_TARGET_MOD, Result.COMPARE_RESULT_LESS, 'p/', 5, end)));
    t.false(await holds(cmp(Target.COMPARE_TARGET_MOD, Result.COMPARE_RESULT_LESS, 'p/', 4, end)));
    t.true(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_LESS, 'p/', '3', end)));
    t.false(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_EQUAL, 'p/', '1', end)));
    // From-key range compare covers q as well.
    t.false(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_LESS, 'p/', '3', '\0')));
    // An empty range compares like a missing key.
    t.true(await holds(cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_EQUAL, 'x/', 0, 'x0')));
    t.false(await holds(cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_NOT_EQUAL, 'x/', 'v', 'x0')));
  });

  storeTest(engine, 'txn: success and failure branches, responses and one revision', async (t, ts) => {
    await ts.put('k', 'v1'); // 2
    const txn = (expectVersion: number) =>
      ts.txn({
        compare: [cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_EQUAL, 'k', expectVersion)],
        success: [opPut('k', 'then', { prevKv: true }), opPut('other', 'o'), opRange('k')],
        failure: [opRange('k'), opDel('k', '', true)],
      });
    const ok = await txn(1);
    t.true(ok.succeeded);
    t.is(ok.header?.revision, 3);
    t.is(ok.responses.length, 3);
    const [put, , range] = ok.responses;
    t.is(put?.response?.$case, 'responsePut');
    if (put?.response?.$case === 'responsePut') {
      t.deepEqual(summary(put.response.responsePut.prevKv), { key: 'k', value: 'v1', create: 2, mod: 2, version: 1 });
      t.is(put.response.responsePut.header?.revision, 3);
    }
    if (range?.response?.$case === 'responseRange') {
      t.deepEqual(entries(range.response.responseRange), ['k=then']);
      t.is(range.response.responseRange.kvs[0]?.modRevision, 3);
      t.is(range.response.responseRange.header?.revision, 3);
    } else t.fail('range response expected');
    // Both puts at one revision.
    t.deepEqual(summary((await ts.range('other')).kvs[0]), { key: 'other', value: 'o', create: 3, mod: 3, version: 1 });

    const bad = await txn(1);
    t.false(bad.succeeded);
    t.is(bad.header?.revision, 4);
    t.deepEqual(
      bad.responses.map((r) => r.response?.$case),
      ['responseRange', 'responseDeleteRange'],
    );
    const [fRange, fDel] = bad.responses;
    if (fRange?.response?.$case === 'responseRange') t.deepEqual(entries(fRange.response.responseRange), ['k=then']);
    if (fDel?.response?.$case === 'responseDeleteRange') {
      t.is(fDel.response.responseDeleteRange.deleted, 1);
      t.deepEqual(fDel.response.responseDeleteRange.prevKvs.map(summary), [{ key: 'k', value: 'then', create: 2, mod: 3, version: 2 }]);
    } else t.fail('delete response expected');
    t.deepEqual(keys(await ts.range('', '\0')), ['other']);

    // A txn whose branch only reads does not consume a revision.
    const readOnly = await ts.txn({ success: [opRange('other')] });
    t.true(readOnly.succeeded);
    t.is(readOnly.header?.revision, 4);
    t.is(ts.store.currentRevision, 4);
  });

  storeTest(engine, 'txn: nested transactions judge their compares before anything changes', async (t, ts) => {
    await ts.put('k', 'v1'); // 2
    const res = await ts.txn({
      compare: [cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_EQUAL, 'k', 'v1')],
      success: [
        opPut('k', 'v2'),
        // Judged against the state before the outer txn: k is still "v1" (version 1).
        opTxn({
          compare: [cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_EQUAL, 'k', 1)],
          success: [opPut('inner', 'yes'), opRange('k')],
          failure: [opPut('inner', 'no')],
        }),
        opTxn({
          compare: [cmp(Target.COMPARE_TARGET_VALUE, Result.COMPARE_RESULT_EQUAL, 'k', 'v2')],
          success: [opPut('second', 'yes')],
          failure: [opPut('second', 'no'), opTxn({ success: [opPut('deep', 'd')] })],
        }),
      ],
    });
    t.true(res.succeeded);
    t.is(res.header?.revision, 3);
    const [, inner1, inner2] = res.responses;
    if (inner1?.response?.$case === 'responseTxn') {
      t.true(inner1.response.responseTxn.succeeded);
      t.is(inner1.response.responseTxn.header?.revision, 3);
      const innerRange = inner1.response.responseTxn.responses[1]?.response;
      if (innerRange?.$case === 'responseRange') t.deepEqual(entries(innerRange.responseRange), ['k=v2']);
      else t.fail('nested range response expected');
    } else t.fail('nested txn response expected');
    if (inner2?.response?.$case === 'responseTxn') {
      t.false(inner2.response.responseTxn.succeeded);
      const deep = inner2.response.responseTxn.responses[1]?.response;
      t.is(deep?.$case, 'responseTxn');
      if (deep?.$case === 'responseTxn') t.true(deep.responseTxn.succeeded);
    } else t.fail('nested txn response expected');
    t.deepEqual(entries(await ts.range('', '\0')), ['deep=d', 'inner=yes', 'k=v2', 'second=no']);
    t.true((await ts.range('', '\0')).kvs.every((kv) => kv.modRevision === 3));
  });

  storeTest(engine, 'txn: reads inside see the earlier writes of the txn', async (t, ts) => {
    await ts.put('a', '1'); // 2
    await ts.put('b', '1'); // 3
    const res = await ts.txn({
      success: [
        opRange('', '\0'),
        opPut('a', '2'),
        opDel('b'),
        opPut('c', '1'),
        opRange('', '\0'),
        opPut('c', '2'),
        opRange('c'),
        // An explicit past revision still reads the past.
        opRange('', '\0', { revision: 2 }),
      ],
    });
    t.is(res.header?.revision, 4);
    const ranges = res.responses
      .filter((r) => r.response?.$case === 'responseRange')
      .map((r) => (r.response as { responseRange: RangeResponse }).responseRange);
    t.deepEqual(entries(ranges[0]!), ['a=1', 'b=1']);
    t.deepEqual(entries(ranges[1]!), ['a=2', 'c=1']);
    t.deepEqual(ranges[2]!.kvs.map(summary), [{ key: 'c', value: '2', create: 4, mod: 4, version: 2 }]);
    t.deepEqual(entries(ranges[3]!), ['a=1']);
    t.deepEqual(entries(await ts.range('', '\0')), ['a=2', 'c=2']);
    t.deepEqual(summary((await ts.range('c')).kvs[0]), { key: 'c', value: '2', create: 4, mod: 4, version: 2 });
    // Later commands in the same batch see the txn too.
    const [x, y] = await Promise.all([ts.put('c', '3', { prevKv: true }), ts.put('c', '4', { prevKv: true })]);
    t.is(x.prevKv?.value.toString(), '2');
    t.is(y.prevKv?.value.toString(), '3');
    t.is(y.prevKv?.version, 3);
  });

  storeTest(engine, 'txn: an error anywhere changes nothing', async (t, ts) => {
    await ts.put('k', 'v'); // 2
    await ts.put('j', 'v'); // 3
    const before = await snapshot(ts);
    const attempts: [string, DeepPartial<TxnRequest>][] = [
      ['lease', { success: [opPut('k', 'x'), opPut('n', 'x', { lease: 5 })] }],
      ['ignore_value on missing key', { success: [opPut('k', 'x'), opPut('missing', '', { ignoreValue: true })] }],
      ['nested lease', { success: [opDel('k'), opTxn({ success: [opPut('z', 'x', { lease: 1 })] })] }],
      ['future range', { success: [opPut('k', 'x'), opRange('k', '', { revision: 4 })] }],
      [
        'failure branch',
        {
          compare: [cmp(Target.COMPARE_TARGET_VERSION, Result.COMPARE_RESULT_EQUAL, 'k', 9)],
          failure: [opDel('j'), opPut('q', '', { ignoreLease: true })],
        },
      ],
      // The key exists before the txn but an earlier op of the txn deletes it.
      ['ignore_value after delete in txn', { success: [opDel('k'), opPut('k', '', { ignoreValue: true })] }],
      ['ignore_lease after range delete in txn', { success: [opDel('', '\0'), opPut('j', 'x', { ignoreLease: true })] }],
    ];
    const codes: DomainErrorCode[] = [];
    for (const [label, req] of attempts) {
      const err = await ts.fails({ request: { $case: 'txn', txn: TxnRequest.fromPartial(req) }, checkedAs: '' });
      codes.push(err.code);
      t.is(ts.store.currentRevision, 3, label);
      t.deepEqual(await snapshot(ts), before, label);
    }
    t.deepEqual(codes, [
      ErrorCode.ERROR_CODE_LEASE_NOT_FOUND,
      ErrorCode.ERROR_CODE_KEY_NOT_FOUND,
      ErrorCode.ERROR_CODE_LEASE_NOT_FOUND,
      ErrorCode.ERROR_CODE_FUTURE_REVISION,
      ErrorCode.ERROR_CODE_KEY_NOT_FOUND,
      ErrorCode.ERROR_CODE_KEY_NOT_FOUND,
      ErrorCode.ERROR_CODE_KEY_NOT_FOUND,
    ]);
    // ignore_value works on a key put earlier in the same txn, including after a delete.
    const res = await ts.txn({
      success: [
        opPut('fresh', 'f'),
        opPut('fresh', '', { ignoreValue: true }),
        opDel('k'),
        opPut('k', 'again'),
        opPut('k', '', { ignoreValue: true }),
      ],
    });
    t.true(res.succeeded);
    t.deepEqual(entries(await ts.range('', '\0')), ['fresh=f', 'j=v', 'k=again']);
    t.deepEqual(summary((await ts.range('k')).kvs[0]), { key: 'k', value: 'again', create: 4, mod: 4, version: 2 });
  });

  storeTest(engine, 'compact: reads below fail naming the compacted revision, reads at it work', async (t, ts) => {
    await ts.put('a', '1'); // 2
    await ts.put('a', '2'); // 3
    await ts.put('b', '1'); // 4
    await ts.del('a'); // 5
    await ts.put('b', '2'); // 6
    const atBefore4 = entries(await ts.range('', '\0', { revision: 4 }));
    const res = await ts.compact(4);
    t.is(res.header?.revision, 6);
    t.is(ts.store.compactedRevision, 4);
    t.is(ts.store.currentRevision, 6, 'compaction does not create a revision');
    for (const rev of [2, 3]) {
      const err = await expectCode(t, ts.range('a', '', { revision: rev }), ErrorCode.ERROR_CODE_COMPACTED);
      t.regex(err.message, new RegExp(`revision ${rev} has been compacted; the oldest available revision is 4`));
    }
    t.deepEqual(entries(await ts.range('', '\0', { revision: 4 })), atBefore4);
    t.deepEqual(entries(await ts.range('', '\0', { revision: 5 })), ['b=1']);
    t.deepEqual(entries(await ts.range('', '\0')), ['b=2']);
    // Compacting again at or below, or in the future, fails and changes nothing.
    t.is((await ts.fails(compactCmd(4))).code, ErrorCode.ERROR_CODE_COMPACTED);
    t.is((await ts.fails(compactCmd(3))).code, ErrorCode.ERROR_CODE_COMPACTED);
    const future = await ts.fails(compactCmd(7));
    t.is(future.code, ErrorCode.ERROR_CODE_FUTURE_REVISION);
    t.regex(future.message, /revision 7 is in the future/);
    t.is(ts.store.compactedRevision, 4);
    // Inside a txn, a read below the compaction fails the txn and changes nothing.
    const err = await ts.fails({
      request: { $case: 'txn', txn: TxnRequest.fromPartial({ success: [opPut('x', 'x'), opRange('a', '', { revision: 3 })] }) },
      checkedAs: '',
    });
    t.is(err.code, ErrorCode.ERROR_CODE_COMPACTED);
    t.is(ts.store.currentRevision, 6);
    // Compacting at the current revision is allowed.
    await ts.compact(6);
    t.deepEqual(entries(await ts.range('', '\0', { revision: 6 })), ['b=2']);
    await expectCode(t, ts.range('', '\0', { revision: 5 }), ErrorCode.ERROR_CODE_COMPACTED, /oldest available revision is 6/);
  });

  storeTest(engine, 'compact: physical deletion removes superseded versions and keeps needed ones', async (t, ts) => {
    await ts.put('a', 'a1'); // 2
    await ts.put('a', 'a2'); // 3
    await ts.put('b', 'b1'); // 4
    await ts.put('c', 'c1'); // 5
    await ts.del('c'); // 6  (tombstone below the compaction point: c disappears entirely)
    await ts.put('d', 'd1'); // 7
    await ts.del('d'); // 8  (tombstone exactly at the compaction point: kept)
    await ts.txn({ success: [opPut('e', 'e1'), opPut('e', 'e2')] }); // 9.0, 9.1
    await ts.put('a', 'a3'); // 10
    t.deepEqual(await storedRevisions(ts), ['2.0', '3.0', '4.0', '5.0', '6.0t', '7.0', '8.0t', '9.0', '9.1', '10.0']);
    const at8 = entries(await ts.range('', '\0', { revision: 8 }));
    const at10 = entries(await ts.range('', '\0', { revision: 10 }));
    await ts.compact(8);
    await ts.store.compactionSettled(8);
    // a: 3 is the version visible at 8; b: 4 likewise; 8t is the delete at 8 itself.
    t.deepEqual(await storedRevisions(ts), ['3.0', '4.0', '8.0t', '9.0', '9.1', '10.0']);
    t.deepEqual(entries(await ts.range('', '\0', { revision: 8 })), at8);
    t.deepEqual(entries(await ts.range('', '\0', { revision: 10 })), at10);
    const a = await ts.range('a', '', { revision: 8 });
    t.deepEqual(a.kvs.map(summary), [{ key: 'a', value: 'a2', create: 2, mod: 3, version: 2 }]);

    // Compacting at 9 keeps only the last change of main 9 among those at 9 (it is at 9 itself).
    await ts.compact(10);
    await ts.store.compactionSettled(10);
    t.deepEqual(await storedRevisions(ts), ['4.0', '9.1', '10.0']);
    t.deepEqual(entries(await ts.range('', '\0', { revision: 10 })), at10);
    t.deepEqual(summary((await ts.range('e')).kvs[0]), { key: 'e', value: 'e2', create: 9, mod: 9, version: 2 });
    t.deepEqual(summary((await ts.range('a')).kvs[0]), { key: 'a', value: 'a3', create: 2, mod: 10, version: 3 });
  });

  storeTest(engine, 'reads racing a compaction either see the right data or fail with COMPACTED', async (t, ts) => {
    // Three keys, many versions each: history[r] is the key space at revision r (the store
    // starts at 1, empty; the 300 writes are revisions 2 to 301).
    const history: Record<string, string>[] = [{}, {}];
    for (let i = 1; i <= 300; i++) {
      const key = `k${i % 3}`;
      await ts.put(key, `${key}@${i}`);
      history.push({ ...history[i], [key]: `${key}@${i}` });
    }
    let compactedErrors = 0;
    for (const target of [50, 120, 200, 280, 301]) {
      const reads: Promise<void>[] = [];
      for (let n = 0; n < 60; n++) {
        const rev = Math.min(301, Math.max(1, target - 80 + n * 2));
        reads.push(
          ts.range('k', 'l', { revision: rev }).then(
            (r) => {
              const want = Object.entries(history[rev]!)
                .sort()
                .map(([k, v]) => `${k}=${v}`);
              t.deepEqual(entries(r), want, `read at ${rev}`);
            },
            (err: unknown) => {
              t.true(err instanceof CairnError && err.code === ErrorCode.ERROR_CODE_COMPACTED, `read at ${rev}: ${String(err)}`);
              t.true(rev < target, `only reads below the compaction fail (read at ${rev}, compaction at ${target})`);
              compactedErrors++;
            },
          ),
        );
        if (n === 20) reads.push(ts.compact(target).then(() => undefined));
      }
      await Promise.all(reads);
      await ts.store.compactionSettled(target);
      // After the deletion, every revision from the compaction on still reads right.
      for (let rev = target; rev <= 301; rev += 7) {
        t.deepEqual(keys(await ts.range('k', 'l', { revision: rev })), Object.keys(history[rev]!).sort());
      }
    }
    t.true(compactedErrors > 0, 'some reads did land below a compaction');
  });

  storeTest(engine, 'reopen rebuilds identical state, including after compaction', async (t, ts) => {
    await ts.put('a', 'a1'); // 2
    await ts.put('a', 'a2'); // 3
    await ts.put('b', 'b1'); // 4
    await ts.del('b'); // 5
    await ts.put('b', 'b2'); // 6
    await ts.put('c', 'c1'); // 7
    await ts.txn({ success: [opPut('c', 'c2'), opDel('a'), opPut('a', 'a3'), opPut('d', 'd1')] }); // 8
    await ts.put('a', 'a4'); // 9
    await ts.del('d'); // 10
    const reads = async () => {
      const out: Record<string, unknown> = {};
      for (let rev = ts.store.compactedRevision || 1; rev <= ts.store.currentRevision; rev++) {
        out[rev] = (await ts.range('', '\0', { revision: rev })).kvs.map(summary);
      }
      return out;
    };
    const before = await reads();
    await ts.reopen();
    t.is(ts.store.currentRevision, 10);
    t.is(ts.store.consistentIndex, 9);
    t.is(ts.store.compactedRevision, 0);
    t.deepEqual(await reads(), before);

    await ts.compact(7);
    await ts.store.compactionSettled(7);
    const compacted = await reads();
    await ts.reopen();
    t.is(ts.store.currentRevision, 10);
    t.is(ts.store.compactedRevision, 7);
    t.is(ts.store.consistentIndex, 10, 'the compaction command was applied too');
    t.deepEqual(await reads(), compacted);
    await expectCode(t, ts.range('', '\0', { revision: 6 }), ErrorCode.ERROR_CODE_COMPACTED, /oldest available revision is 7/);
    t.deepEqual(await ts.store.compactionSettled(7), undefined);

    // Versions and create revisions carry on across compaction and reopen.
    await ts.put('a', 'a5'); // 11
    await ts.put('b', 'b3'); // 12
    await ts.put('c', 'c3'); // 13
    t.deepEqual((await ts.range('', '\0')).kvs.map(summary), [
      { key: 'a', value: 'a5', create: 8, mod: 11, version: 3 },
      { key: 'b', value: 'b3', create: 6, mod: 12, version: 2 },
      { key: 'c', value: 'c3', create: 7, mod: 13, version: 3 },
    ]);
    await ts.compact(13);
    await ts.store.compactionSettled(13);
    await ts.reopen();
    t.is(ts.store.currentRevision, 13);
    await ts.put('a', 'a6'); // 14
    t.deepEqual(summary((await ts.range('a')).kvs[0]), { key: 'a', value: 'a6', create: 8, mod: 14, version: 4 });
    // A key deleted at exactly the compacted revision stays deleted and is re-created fresh.
    await ts.del('b'); // 15
    await ts.compact(15);
    await ts.store.compactionSettled(15);
    await ts.reopen();
    t.deepEqual(keys(await ts.range('', '\0', { revision: 15 })), ['a', 'c']);
    await ts.put('b', 'b4'); // 16
    t.deepEqual(summary((await ts.range('b')).kvs[0]), { key: 'b', value: 'b4', create: 16, mod: 16, version: 1 });
  });

  storeTest(engine, 'reopen with an unfinished physical compaction finishes it', async (t, ts) => {
    for (let i = 1; i <= 6; i++) await ts.put('k', `v${i}`);
    await ts.compact(5);
    // Close without waiting for the background deletion: reopen must end with the same result.
    await ts.reopen();
    t.is(ts.store.compactedRevision, 5);
    await ts.store.compactionSettled(5);
    t.deepEqual(await storedRevisions(ts), ['5.0', '6.0', '7.0']);
    t.deepEqual(summary((await ts.range('k', '', { revision: 5 })).kvs[0]), { key: 'k', value: 'v4', create: 2, mod: 5, version: 4 });
  });

  storeTest(engine, 'readEvents: grouped by revision, with prev kv, bounded', async (t, ts) => {
    await ts.put('a', '1'); // 2
    await ts.put('a', '2'); // 3
    await ts.txn({ success: [opPut('b', '1'), opDel('a'), opPut('c', '1')] }); // 4
    await ts.put('a', '3'); // 5
    await ts.del('', '\0'); // 6
    const describe = (revs: RevisionEvents[]) =>
      revs.map((r) => ({
        rev: r.revision,
        events: r.events.map(
          (e) =>
            `${e.type === Event_EventType.EVENT_TYPE_PUT ? 'put' : 'del'} ${e.kv?.key.toString()}@${e.kv?.modRevision}${e.prevKv ? ` prev=${e.prevKv.value.toString()}@${e.prevKv.modRevision}` : ''}`,
        ),
      }));
    const all = await ts.store.readEvents(2, 6, 100, true);
    t.is(all.through, 6);
    t.deepEqual(describe(all.revisions), [
      { rev: 2, events: ['put a@2'] },
      { rev: 3, events: ['put a@3 prev=1@2'] },
      { rev: 4, events: ['put b@4', 'del a@4 prev=2@3', 'put c@4'] },
      { rev: 5, events: ['put a@5'] },
      { rev: 6, events: ['del a@6 prev=3@5', 'del b@6 prev=1@4', 'del c@6 prev=1@4'] },
    ]);
    const put = all.revisions[0]!.events[0]!;
    t.is(put.kv?.value.toString(), '1');
    t.is(put.kv?.version, 1);
    const noPrev = await ts.store.readEvents(3, 4, 100, false);
    t.deepEqual(describe(noPrev.revisions), [
      { rev: 3, events: ['put a@3'] },
      { rev: 4, events: ['put b@4', 'del a@4', 'put c@4'] },
    ]);
    t.true(noPrev.revisions.every((r) => r.prevKvLoaded === false));
    // maxEvents stops at a revision boundary, never inside one.
    const bounded = await ts.store.readEvents(2, 6, 2, false);
    t.deepEqual(
      bounded.revisions.map((r) => r.revision),
      [2, 3],
    );
    t.is(bounded.through, 3);
    const bounded2 = await ts.store.readEvents(4, 6, 1, false);
    t.deepEqual(
      bounded2.revisions.map((r) => [r.revision, r.events.length]),
      [[4, 3]],
    );
    t.is(bounded2.through, 4);
    const empty = await ts.store.readEvents(7, 11, 10, false);
    t.deepEqual(empty.revisions, []);
  });

  storeTest(engine, 'commit listeners get each revision once, in order, with the changes', async (t, ts) => {
    const seen: RevisionEvents[] = [];
    let calls = 0;
    ts.store.onCommit((revs) => {
      calls++;
      seen.push(...revs);
    });
    await ts.put('a', '1'); // 2
    await ts.del('nothing'); // no revision
    await ts.fails(putCmd('x', 'y', { lease: 3 })); // no revision
    await ts.compact(2); // no revision
    const concurrent: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) concurrent.push(ts.put(`k${i % 3}`, String(i)));
    concurrent.push(ts.txn({ success: [opPut('t', '1'), opDel('a')] }));
    await Promise.all(concurrent);
    t.deepEqual(
      seen.map((r) => r.revision),
      Array.from({ length: 32 }, (_, i) => i + 2),
    );
    t.true(calls <= seen.length);
    t.true(calls >= 2);
    t.deepEqual(
      seen[0]!.events.map((e) => [e.type, e.kv?.key.toString(), e.kv?.value.toString()]),
      [[Event_EventType.EVENT_TYPE_PUT, 'a', '1']],
    );
    const last = seen[31]!;
    t.deepEqual(
      last.events.map((e) => [e.type, e.kv?.key.toString(), e.kv?.modRevision]),
      [
        [Event_EventType.EVENT_TYPE_PUT, 't', 33],
        [Event_EventType.EVENT_TYPE_DELETE, 'a', 33],
      ],
    );
    // Listeners run after the revision is readable.
    ts.store.onCommit((revs) => {
      t.is(ts.store.currentRevision, revs[revs.length - 1]!.revision);
    });
    await ts.put('z', 'z');
    t.is(seen.length, 33);
  });

  storeTest(engine, 'live events carry prev_kv while a watcher wants it', async (t, ts) => {
    const seen: RevisionEvents[] = [];
    ts.store.onCommit((revs) => seen.push(...revs));
    await ts.put('a', '1'); // 2
    await ts.put('a', '2'); // 3
    ts.store.prevKvWatchers++;
    await ts.put('a', '3'); // 4
    await ts.del('a'); // 5
    t.false(seen[1]!.prevKvLoaded);
    t.is(seen[1]!.events[0]!.prevKv, undefined);
    t.true(seen[2]!.prevKvLoaded);
    t.is(seen[2]!.events[0]!.prevKv?.value.toString(), '2');
    t.is(seen[3]!.events[0]!.prevKv?.value.toString(), '3');
  });
}

test('a failed engine write stops the writer: pending commands fail, onFatal fires, later submits are refused', async (t) => {
  const ts = await TestStore.create('leveldb');
  try {
    await ts.put('a', '1');
    const engine = ts.engine;
    const realWrite = engine.write.bind(engine);
    let fail = true;
    engine.write = async (ops, options) => {
      if (fail) throw new Error('disk on fire');
      return realWrite(ops, options);
    };
    const results = await Promise.allSettled([ts.writer.submit(putCmd('a', '2')), ts.writer.submit(putCmd('b', '1'))]);
    t.true(results.every((r) => r.status === 'rejected'));
    t.is(ts.fatal.length, 1);
    t.regex(String(ts.fatal[0]), /disk on fire/);
    fail = false;
    const refused = await t.throwsAsync(ts.writer.submit(putCmd('c', '1')), { instanceOf: CairnError });
    t.is(refused.code, ErrorCode.ERROR_CODE_STOPPING);
    // Nothing of the failed batch became readable.
    t.is(ts.store.currentRevision, 2);
    t.deepEqual(entries(await ts.range('', '\0')), ['a=1']);
  } finally {
    await ts.destroy();
  }
});
