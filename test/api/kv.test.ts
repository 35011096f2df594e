// KVService over gRPC, end to end in-process, on both storage engines: every Range option,
// Put, DeleteRange, Txn and Compact, and the response headers.
import test from 'ava';
import {
  Compare_CompareResult as Result,
  Compare_CompareTarget as Target,
  RangeRequest_SortOrder as Order,
  RangeRequest_SortTarget as SortBy,
  type RangeResponse,
} from '../../gen/ts/cairn/v1/kv.js';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import type { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import {
  b,
  ENGINE_NAMES,
  errorDetails,
  grpcError,
  s,
  startApiNode,
  status,
  statusName,
  type Kv,
  type TxnInput,
} from '../helpers/grpc-clients.js';

const keys = (r: RangeResponse): string[] => r.kvs.map((kv) => s(kv.key));
const values = (r: RangeResponse): string[] => r.kvs.map((kv) => s(kv.value));

/**
 * Seeds the same history on a fresh node; revisions are fixed:
 *   1 a=v1   2 b=z   3 c=a   4 a=m   5 p/1=k   6 p/2=b   7 q=c
 * so that key, create, mod, version and value orders all differ.
 */
async function seed(kv: Kv): Promise<void> {
  const writes: [string, string][] = [
    ['a', 'v1'],
    ['b', 'z'],
    ['c', 'a'],
    ['a', 'm'],
    ['p/1', 'k'],
    ['p/2', 'b'],
    ['q', 'c'],
  ];
  for (const [i, [k, v]] of writes.entries()) {
    const res = await kv.set(k, v);
    if (res.header!.revision !== i + 2) throw new Error(`seed: put ${k} made revision ${res.header!.revision}, expected ${i + 2}`);
  }
}

const ALL = { key: b('\0'), rangeEnd: b('\0') };

for (const engine of ENGINE_NAMES) {
  test(`${engine}: Range selects a key, [start,end), a prefix, from-key and everything`, async (t) => {
    const { kv, node } = await startApiNode(t, engine);
    await seed(kv);

    const one = await kv.get('a');
    t.deepEqual(keys(one), ['a']);
    t.like(one.kvs[0], { createRevision: 2, modRevision: 5, version: 2, lease: 0 });
    t.is(s(one.kvs[0]!.value), 'm');
    t.is(one.count, 1);
    t.false(one.more);
    t.like(one.header, { memberId: node.memberId, revision: 8, raftTerm: 1 });
    t.true(one.header!.clusterId > 0, 'header carries the cluster id');

    const missing = await kv.get('nope');
    t.deepEqual(missing.kvs, []);
    t.is(missing.count, 0);
    t.is(missing.header!.revision, 8);

    t.deepEqual(keys(await kv.range({ key: b('b'), rangeEnd: b('p/2') })), ['b', 'c', 'p/1'], '[b, p/2) excludes its end');
    t.deepEqual(keys(await kv.range({ key: b('p/'), rangeEnd: b('p0') })), ['p/1', 'p/2'], 'prefix p/ as [p/, p0)');
    t.deepEqual(keys(await kv.range({ key: b('c'), rangeEnd: b('\0') })), ['c', 'p/1', 'p/2', 'q'], 'from-key c');
    const all = await kv.range(ALL);
    t.deepEqual(keys(all), ['a', 'b', 'c', 'p/1', 'p/2', 'q']);
    t.deepEqual(values(all), ['m', 'z', 'a', 'k', 'b', 'c']);
    t.is(all.count, 6);
    t.deepEqual(keys(await kv.range({ key: b('x'), rangeEnd: b('\0') })), [], 'from-key past the last key');
    t.deepEqual(keys(await kv.range({ key: b('q'), rangeEnd: b('b') })), [], 'an end before the start selects nothing');
    t.deepEqual(keys(await kv.range({ key: b('b'), rangeEnd: b('b') })), [], 'an end equal to the start selects nothing');
    t.is((await kv.deleteRange({ key: b('q'), rangeEnd: b('b') })).deleted, 0);
    t.is(await kv.revision(), 8);
  });

  test(`${engine}: Range orders binary keys by bytes, and a prefix ending in 0xff selects its keys`, async (t) => {
    const { kv } = await startApiNode(t, engine);
    const raw = [[0x01], [0x7f], [0x80], [0xc3, 0xa9], [0xff], [0xff, 0x00], [0xff, 0xff, 0x01], [0x61, 0xff, 0x01], [0x62]].map((k) =>
      Buffer.from(k),
    );
    for (const k of [...raw].reverse()) await kv.put({ key: k, value: k });
    const hex = (r: RangeResponse) => r.kvs.map((kv) => kv.key.toString('hex'));
    const sorted = [...raw].sort((x, y) => Buffer.compare(x, y)).map((k) => k.toString('hex'));
    t.deepEqual(hex(await kv.range(ALL)), sorted, 'byte order, not UTF-16 or UTF-8 code point order');
    t.deepEqual(hex(await kv.range({ key: Buffer.from([0x80]), rangeEnd: Buffer.from([0xff]) })), ['80', 'c3a9']);
    // The prefix a\xff has range_end "b" (etcd's GetPrefixRangeEnd).
    t.deepEqual(hex(await kv.range({ key: Buffer.from([0x61, 0xff]), rangeEnd: Buffer.from([0x62]) })), ['61ff01']);
    t.deepEqual(hex(await kv.range({ key: Buffer.from([0xff]), rangeEnd: b('\0') })), ['ff', 'ff00', 'ffff01']);
    t.true((await kv.range({ key: Buffer.from([0xc3, 0xa9]) })).kvs[0]!.value.equals(Buffer.from([0xc3, 0xa9])));
  });

  test(`${engine}: Range limit, more, count, keys_only, count_only and serializable`, async (t) => {
    const { kv } = await startApiNode(t, engine);
    await seed(kv);

    const two = await kv.range({ ...ALL, limit: 2 });
    t.deepEqual(keys(two), ['a', 'b']);
    t.true(two.more);
    t.is(two.count, 6, 'count ignores the limit');
    const exact = await kv.range({ ...ALL, limit: 6 });
    t.is(exact.kvs.length, 6);
    t.false(exact.more, 'limit equal to the count: nothing more');
    const over = await kv.range({ ...ALL, limit: 100 });
    t.is(over.kvs.length, 6);
    t.false(over.more);
    const prefixLimited = await kv.range({ key: b('p/'), rangeEnd: b('p0'), limit: 1 });
    t.deepEqual(keys(prefixLimited), ['p/1']);
    t.true(prefixLimited.more);
    t.is(prefixLimited.count, 2);

    const keysOnly = await kv.range({ ...ALL, keysOnly: true });
    t.deepEqual(keys(keysOnly), ['a', 'b', 'c', 'p/1', 'p/2', 'q']);
    t.true(
      keysOnly.kvs.every((kv) => kv.value.length === 0),
      'keys_only returns no values',
    );
    t.like(keysOnly.kvs[0], { createRevision: 2, modRevision: 5, version: 2 }, 'keys_only keeps the other fields');

    const countOnly = await kv.range({ ...ALL, countOnly: true });
    t.deepEqual(countOnly.kvs, []);
    t.is(countOnly.count, 6);
    t.false(countOnly.more);
    const countPrefix = await kv.range({ key: b('p/'), rangeEnd: b('p0'), countOnly: true, limit: 1 });
    t.is(countPrefix.count, 2);
    t.deepEqual(countPrefix.kvs, []);

    const serializable = await kv.range({ ...ALL, serializable: true });
    t.deepEqual(serializable.kvs, (await kv.range(ALL)).kvs);
    t.is(serializable.header!.revision, 8);
  });

  test(`${engine}: Range sorts by every target in both orders, before applying the limit`, async (t) => {
    const { kv } = await startApiNode(t, engine);
    await seed(kv);
    const sorted = async (sortTarget: SortBy, sortOrder: Order, limit = 0) =>
      keys(await kv.range({ ...ALL, sortTarget, sortOrder, limit }));

    t.deepEqual(await sorted(SortBy.SORT_TARGET_KEY, Order.SORT_ORDER_ASCEND), ['a', 'b', 'c', 'p/1', 'p/2', 'q']);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_KEY, Order.SORT_ORDER_DESCEND), ['q', 'p/2', 'p/1', 'c', 'b', 'a']);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_KEY, Order.SORT_ORDER_UNSPECIFIED), ['a', 'b', 'c', 'p/1', 'p/2', 'q']);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_CREATE, Order.SORT_ORDER_ASCEND), ['a', 'b', 'c', 'p/1', 'p/2', 'q']);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_CREATE, Order.SORT_ORDER_DESCEND), ['q', 'p/2', 'p/1', 'c', 'b', 'a']);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_MOD, Order.SORT_ORDER_ASCEND), ['b', 'c', 'a', 'p/1', 'p/2', 'q']);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_MOD, Order.SORT_ORDER_DESCEND), ['q', 'p/2', 'p/1', 'a', 'c', 'b']);
    // As in etcd: a non-key target with no order sorts ascending.
    t.deepEqual(await sorted(SortBy.SORT_TARGET_MOD, Order.SORT_ORDER_UNSPECIFIED), ['b', 'c', 'a', 'p/1', 'p/2', 'q']);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_VALUE, Order.SORT_ORDER_ASCEND), ['c', 'p/2', 'q', 'p/1', 'a', 'b']);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_VALUE, Order.SORT_ORDER_DESCEND), ['b', 'a', 'p/1', 'q', 'p/2', 'c']);
    // Only a has version 2; ties may come in any order, so check the position of a and the set.
    const versionAsc = await sorted(SortBy.SORT_TARGET_VERSION, Order.SORT_ORDER_ASCEND);
    t.is(versionAsc[5], 'a');
    t.deepEqual([...versionAsc].sort(), ['a', 'b', 'c', 'p/1', 'p/2', 'q']);
    const versionDesc = await sorted(SortBy.SORT_TARGET_VERSION, Order.SORT_ORDER_DESCEND);
    t.is(versionDesc[0], 'a');
    t.deepEqual([...versionDesc].sort(), ['a', 'b', 'c', 'p/1', 'p/2', 'q']);

    // The limit applies after sorting: the two most recently modified keys.
    const limited = await kv.range({ ...ALL, sortTarget: SortBy.SORT_TARGET_MOD, sortOrder: Order.SORT_ORDER_DESCEND, limit: 2 });
    t.deepEqual(keys(limited), ['q', 'p/2']);
    t.true(limited.more);
    t.deepEqual(await sorted(SortBy.SORT_TARGET_VALUE, Order.SORT_ORDER_DESCEND, 3), ['b', 'a', 'p/1']);
  });

  test(`${engine}: Range at a past revision sees the store as it was; the header names the current revision`, async (t) => {
    const { kv } = await startApiNode(t, engine);
    await seed(kv);
    await kv.deleteRange({ key: b('b') }); // 9
    await kv.set('b', 'again'); // 10: a new generation

    const at4 = await kv.range({ ...ALL, revision: 4 });
    t.deepEqual(keys(at4), ['a', 'b', 'c']);
    t.deepEqual(values(at4), ['v1', 'z', 'a']);
    t.like(at4.kvs[0], { createRevision: 2, modRevision: 2, version: 1 });
    t.is(at4.header!.revision, 10, 'a past read still reports the current revision');
    t.deepEqual(keys(await kv.range({ key: b('p/'), rangeEnd: b('p0'), revision: 6 })), ['p/1']);
    t.deepEqual(keys(await kv.get('b', { revision: 9 })), [], 'deleted at 9');
    const b10 = await kv.get('b', { revision: 10 });
    t.like(b10.kvs[0], { createRevision: 10, modRevision: 10, version: 1 }, 'a put after a delete starts a new generation');
    const b8 = await kv.get('b', { revision: 8 });
    t.like(b8.kvs[0], { createRevision: 3, modRevision: 3, version: 1 });
    t.is((await kv.range({ ...ALL, revision: 10 })).count, 6);
    t.is((await kv.range({ ...ALL, revision: 2, countOnly: true })).count, 1);
  });

  test(`${engine}: Put returns the new revision and prev_kv only when asked; ignore_value and ignore_lease`, async (t) => {
    const { kv, node } = await startApiNode(t, engine);
    const first = await kv.set('k', 'one', { prevKv: true });
    t.like(first.header, { revision: 2, memberId: node.memberId });
    t.is(first.prevKv, undefined, 'no previous version of a new key');

    const second = await kv.set('k', 'two', { prevKv: true });
    t.is(second.header!.revision, 3);
    t.like(second.prevKv, { createRevision: 2, modRevision: 2, version: 1 });
    t.is(s(second.prevKv!.value), 'one');

    const third = await kv.set('k', 'three');
    t.is(third.header!.revision, 4);
    t.is(third.prevKv, undefined, 'prev_kv only when asked');

    const ignoreValue = await kv.put({ key: b('k'), ignoreValue: true, prevKv: true });
    t.is(ignoreValue.header!.revision, 5);
    t.is(s(ignoreValue.prevKv?.value), 'three');
    const afterIgnoreValue = (await kv.get('k')).kvs[0]!;
    t.is(s(afterIgnoreValue.value), 'three', 'ignore_value keeps the value');
    t.like(afterIgnoreValue, { version: 4, modRevision: 5, createRevision: 2, lease: 0 });

    const ignoreLease = await kv.put({ key: b('k'), value: b('four'), ignoreLease: true });
    t.is(ignoreLease.header!.revision, 6);
    const afterIgnoreLease = (await kv.get('k')).kvs[0]!;
    t.is(s(afterIgnoreLease.value), 'four', 'ignore_lease changes the value');
    t.like(afterIgnoreLease, { version: 5, modRevision: 6, lease: 0 });

    // Both need an existing key, and refusing changes nothing.
    const missing = await grpcError(kv.put({ key: b('nokey'), ignoreValue: true }));
    t.is(missing.code, status.NOT_FOUND, statusName(missing.code));
    t.regex(missing.details, /does not exist; ignore_value and ignore_lease need an existing key/);
    const missingLease = await grpcError(kv.put({ key: b('nokey'), value: b('v'), ignoreLease: true }));
    t.is(missingLease.code, status.NOT_FOUND);
    t.is(await kv.revision(), 6);
    t.is((await kv.get('nokey')).count, 0);

    // Binary keys and values survive unchanged.
    const binKey = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    const binValue = Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]);
    await kv.put({ key: binKey, value: binValue });
    const bin = await kv.range({ key: binKey });
    t.true(bin.kvs[0]!.key.equals(binKey));
    t.true(bin.kvs[0]!.value.equals(binValue));
  });

  test(`${engine}: DeleteRange deletes a key, a range or a prefix in one revision, with prev_kv`, async (t) => {
    const { kv } = await startApiNode(t, engine);
    await seed(kv);

    const one = await kv.deleteRange({ key: b('a'), prevKv: true });
    t.is(one.deleted, 1);
    t.is(one.header!.revision, 9);
    t.deepEqual(
      one.prevKvs.map((kv) => [s(kv.key), s(kv.value), kv.version]),
      [['a', 'm', 2]],
    );
    t.deepEqual(keys(await kv.get('a')), []);

    const none = await kv.deleteRange({ key: b('a'), prevKv: true });
    t.is(none.deleted, 0);
    t.deepEqual(none.prevKvs, []);
    t.is(none.header!.revision, 9, 'deleting nothing creates no revision');

    const prefix = await kv.deleteRange({ key: b('p/'), rangeEnd: b('p0') });
    t.is(prefix.deleted, 2);
    t.deepEqual(prefix.prevKvs, [], 'prev_kvs only when asked');
    t.is(prefix.header!.revision, 10, 'one revision for the whole range');
    t.deepEqual(keys(await kv.range(ALL)), ['b', 'c', 'q'], 'keys outside the prefix untouched');
    t.deepEqual(keys(await kv.range({ ...ALL, revision: 9 })), ['b', 'c', 'p/1', 'p/2', 'q'], 'history still readable');

    const fromKey = await kv.deleteRange({ key: b('c'), rangeEnd: b('\0'), prevKv: true });
    t.is(fromKey.deleted, 2);
    t.deepEqual(
      fromKey.prevKvs.map((kv) => s(kv.key)),
      ['c', 'q'],
    );
    t.is(fromKey.header!.revision, 11);
    t.deepEqual(keys(await kv.range(ALL)), ['b']);

    // A key re-created after a delete starts over at version 1.
    const again = await kv.set('a', 'new');
    t.like((await kv.get('a')).kvs[0], { version: 1, createRevision: again.header!.revision, modRevision: again.header!.revision });
  });

  test(`${engine}: Txn compares value, version, create and mod with every result`, async (t) => {
    const { kv } = await startApiNode(t, engine);
    await kv.set('x', 'm'); // 2
    await kv.set('other', '1'); // 3
    await kv.set('x', 'm'); // 4: x version 2, create 2, mod 4
    const before = await kv.revision();

    type Union = NonNullable<NonNullable<TxnInput['compare']>[number]>['targetUnion'];
    const targets: {
      target: Target;
      actual: number | string;
      union: (v: number | string) => Union;
      lower: number | string;
      higher: number | string;
    }[] = [
      {
        target: Target.COMPARE_TARGET_VALUE,
        actual: 'm',
        union: (v) => ({ $case: 'value', value: b(String(v)) }),
        lower: 'l',
        higher: 'n',
      },
      { target: Target.COMPARE_TARGET_VERSION, actual: 2, union: (v) => ({ $case: 'version', version: Number(v) }), lower: 1, higher: 3 },
      {
        target: Target.COMPARE_TARGET_CREATE,
        actual: 2,
        union: (v) => ({ $case: 'createRevision', createRevision: Number(v) }),
        lower: 1,
        higher: 3,
      },
      {
        target: Target.COMPARE_TARGET_MOD,
        actual: 4,
        union: (v) => ({ $case: 'modRevision', modRevision: Number(v) }),
        lower: 3,
        higher: 5,
      },
    ];
    const results: [Result, (order: number) => boolean][] = [
      [Result.COMPARE_RESULT_EQUAL, (o) => o === 0],
      [Result.COMPARE_RESULT_NOT_EQUAL, (o) => o !== 0],
      [Result.COMPARE_RESULT_GREATER, (o) => o > 0],
      [Result.COMPARE_RESULT_LESS, (o) => o < 0],
    ];
    for (const { target, actual, union, lower, higher } of targets) {
      // order: how the key's actual field compares to the given value.
      for (const [given, order] of [
        [lower, 1],
        [actual, 0],
        [higher, -1],
      ] as const) {
        for (const [result, holds] of results) {
          const res = await kv.txn({
            compare: [{ key: b('x'), target, result, targetUnion: union(given) }],
            success: [{ request: { $case: 'requestRange', requestRange: { key: b('x') } } }],
          });
          t.is(res.succeeded, holds(order), `${Target[target]} ${Result[result]} ${given} (actual ${actual})`);
          t.is(res.responses.length, holds(order) ? 1 : 0, 'only the chosen branch runs');
        }
      }
    }
    // A missing key has version/create/mod 0 and no value: a value compare on it fails.
    const onMissing = async (target: Target, targetUnion: Union, result = Result.COMPARE_RESULT_EQUAL) =>
      (await kv.txn({ compare: [{ key: b('missing'), target, result, targetUnion }] })).succeeded;
    t.true(await onMissing(Target.COMPARE_TARGET_VERSION, { $case: 'version', version: 0 }));
    t.true(await onMissing(Target.COMPARE_TARGET_CREATE, { $case: 'createRevision', createRevision: 0 }));
    t.true(await onMissing(Target.COMPARE_TARGET_MOD, { $case: 'modRevision', modRevision: 0 }));
    t.false(await onMissing(Target.COMPARE_TARGET_VALUE, { $case: 'value', value: b('') }));
    t.false(await onMissing(Target.COMPARE_TARGET_VALUE, { $case: 'value', value: b('') }, Result.COMPARE_RESULT_NOT_EQUAL));
    t.true(await onMissing(Target.COMPARE_TARGET_LEASE, { $case: 'lease', lease: 0 }));

    // A compare over a range holds only if every key in it satisfies it.
    await kv.set('r/1', 'same'); // 5
    await kv.set('r/2', 'same'); // 6
    const rangeCompare = (value: string) =>
      kv.txn({
        compare: [
          {
            key: b('r/'),
            rangeEnd: b('r0'),
            target: Target.COMPARE_TARGET_VALUE,
            result: Result.COMPARE_RESULT_EQUAL,
            targetUnion: { $case: 'value', value: b(value) },
          },
        ],
      });
    t.true((await rangeCompare('same')).succeeded);
    await kv.set('r/2', 'different'); // 7
    t.false((await rangeCompare('same')).succeeded);

    // Read-only transactions created no revision.
    t.is(await kv.revision(), before + 3);
  });

  test(`${engine}: Txn runs then or else atomically at one revision; nested txns; ranges see earlier writes`, async (t) => {
    const { kv, node } = await startApiNode(t, engine);
    await kv.set('guard', 'open'); // 2
    await kv.set('gone', 'x'); // 3
    const guardIs = (v: string): NonNullable<TxnInput['compare']> => [
      {
        key: b('guard'),
        target: Target.COMPARE_TARGET_VALUE,
        result: Result.COMPARE_RESULT_EQUAL,
        targetUnion: { $case: 'value', value: b(v) },
      },
    ];

    const then = await kv.txn({
      compare: guardIs('open'),
      success: [
        { request: { $case: 'requestPut', requestPut: { key: b('t/1'), value: b('a'), prevKv: true } } },
        { request: { $case: 'requestPut', requestPut: { key: b('t/2'), value: b('b') } } },
        { request: { $case: 'requestDeleteRange', requestDeleteRange: { key: b('gone'), prevKv: true } } },
        { request: { $case: 'requestRange', requestRange: { key: b('t/'), rangeEnd: b('t0') } } },
      ],
      failure: [{ request: { $case: 'requestPut', requestPut: { key: b('else'), value: b('x') } } }],
    });
    t.true(then.succeeded);
    t.like(then.header, { revision: 4, memberId: node.memberId });
    t.deepEqual(
      then.responses.map((r) => r.response?.$case),
      ['responsePut', 'responsePut', 'responseDeleteRange', 'responseRange'],
    );
    for (const r of then.responses)
      t.is(
        (r.response as { [k: string]: { header?: { revision: number } } } | undefined)?.[r.response!.$case]?.header?.revision,
        4,
        'sub-responses carry the txn header',
      );
    const del = then.responses[2]!.response;
    t.is(del?.$case === 'responseDeleteRange' ? del.responseDeleteRange.deleted : -1, 1);
    const inTxnRange = then.responses[3]!.response;
    if (inTxnRange?.$case !== 'responseRange') return t.fail('expected a range response');
    t.deepEqual(keys(inTxnRange.responseRange), ['t/1', 't/2'], 'a range inside the txn sees its earlier writes');
    t.true(
      inTxnRange.responseRange.kvs.every((kv: KeyValue) => kv.modRevision === 4),
      'every write of the txn is at one revision',
    );
    t.deepEqual(keys(await kv.range({ key: b('t/'), rangeEnd: b('t0') })), ['t/1', 't/2']);
    t.is((await kv.get('else')).count, 0, 'the failure branch did not run');
    t.is((await kv.get('gone')).count, 0);

    const otherwise = await kv.txn({
      compare: guardIs('closed'),
      success: [{ request: { $case: 'requestPut', requestPut: { key: b('then'), value: b('x') } } }],
      failure: [
        { request: { $case: 'requestPut', requestPut: { key: b('else'), value: b('y') } } },
        { request: { $case: 'requestRange', requestRange: { key: b('guard') } } },
      ],
    });
    t.false(otherwise.succeeded);
    t.is(otherwise.header!.revision, 5);
    t.deepEqual(
      otherwise.responses.map((r) => r.response?.$case),
      ['responsePut', 'responseRange'],
    );
    t.is((await kv.get('then')).count, 0);
    t.is(s((await kv.get('else')).kvs[0]?.value), 'y');

    // Nested: compares of nested txns are judged against the state before the whole txn.
    const nested = await kv.txn({
      compare: guardIs('open'),
      success: [
        { request: { $case: 'requestPut', requestPut: { key: b('guard'), value: b('changed') } } },
        {
          request: {
            $case: 'requestTxn',
            requestTxn: {
              compare: guardIs('open'),
              success: [{ request: { $case: 'requestPut', requestPut: { key: b('n/ok'), value: b('1') } } }],
              failure: [{ request: { $case: 'requestPut', requestPut: { key: b('n/fail'), value: b('1') } } }],
            },
          },
        },
        {
          request: {
            $case: 'requestTxn',
            requestTxn: {
              compare: guardIs('never'),
              success: [{ request: { $case: 'requestPut', requestPut: { key: b('n/never'), value: b('1') } } }],
              failure: [{ request: { $case: 'requestRange', requestRange: { key: b('guard') } } }],
            },
          },
        },
      ],
    });
    t.true(nested.succeeded);
    t.is(nested.header!.revision, 6);
    const [, inner1, inner2] = nested.responses.map((r) => r.response);
    if (inner1?.$case !== 'responseTxn' || inner2?.$case !== 'responseTxn') return t.fail('expected nested txn responses');
    t.true(inner1.responseTxn.succeeded);
    t.false(inner2.responseTxn.succeeded);
    const innerRange = inner2.responseTxn.responses[0]?.response;
    if (innerRange?.$case !== 'responseRange') return t.fail('expected a range in the nested failure branch');
    t.is(s(innerRange.responseRange.kvs[0]?.value), 'changed', 'a nested range sees the earlier write of the outer txn');
    t.deepEqual(keys(await kv.range({ key: b('n/'), rangeEnd: b('n0') })), ['n/ok']);
    t.like((await kv.get('n/ok')).kvs[0], { modRevision: 6 });

    // A txn that only reads creates no revision.
    const readOnly = await kv.txn({ success: [{ request: { $case: 'requestRange', requestRange: { key: b('guard') } } }] });
    t.true(readOnly.succeeded, 'no compares: success runs');
    t.is(readOnly.header!.revision, 6);
    t.is(await kv.revision(), 6);
  });

  test(`${engine}: Compact refuses reads below it with OUT_OF_RANGE naming the compacted revision; physical waits for deletion`, async (t) => {
    const { kv, node } = await startApiNode(t, engine);
    for (let i = 1; i <= 10; i++) await kv.set(`c/${i % 3}`, `v${i}`); // 10 revisions (2..11) over 3 keys
    const compacted = await kv.compact({ revision: 7 });
    t.like(compacted.header, { memberId: node.memberId, revision: 11 });

    const below = await grpcError(kv.get('c/1', { revision: 6 }));
    t.is(below.code, status.OUT_OF_RANGE, statusName(below.code));
    t.is(below.details, 'revision 6 has been compacted; the oldest available revision is 7');
    t.deepEqual(errorDetails(below)?.info, { code: ErrorCode.ERROR_CODE_COMPACTED, compactRevision: 7 });

    // At the compacted revision every key still reads as it was.
    const at7 = await kv.range({ key: b('c/'), rangeEnd: b('c0'), revision: 7 });
    t.deepEqual(
      at7.kvs.map((kv) => [s(kv.key), s(kv.value)]),
      [
        ['c/0', 'v6'],
        ['c/1', 'v4'],
        ['c/2', 'v5'],
      ],
    );
    t.is((await kv.range({ key: b('c/'), rangeEnd: b('c0') })).count, 3);

    // Compacting again at or below it, or in the future, is refused and changes nothing.
    const again = await grpcError(kv.compact({ revision: 7 }));
    t.is(again.code, status.OUT_OF_RANGE);
    t.regex(again.details, /oldest available revision is 7/);
    const future = await grpcError(kv.compact({ revision: 12 }));
    t.is(future.code, status.OUT_OF_RANGE);
    t.is(future.details, 'revision 12 is in the future; the current revision is 11');

    // Physical: answered once old versions are gone from storage; reads at R still work.
    await kv.compact({ revision: 10, physical: true });
    t.is((await grpcError(kv.get('c/1', { revision: 9 }))).code, status.OUT_OF_RANGE);
    const at10 = await kv.range({ key: b('c/'), rangeEnd: b('c0'), revision: 10 });
    t.deepEqual(values(at10), ['v9', 'v7', 'v8']);
    t.is(await kv.revision(), 11, 'compaction creates no revision');
    // Writes go on after compaction.
    t.is((await kv.set('c/1', 'after')).header!.revision, 12);
  });
}
