import test from 'ava';
import type { Call, Result } from './history.js';
import { builder } from './history-builder.js';
import { checkLinearizability } from './linearizability.js';
import { checkAgainstRevisions, checkMonotonic, checkRealTimeOrder, RevisionHistory, type RevEvent } from './revision-history.js';
import { checkWatcher } from './watch-check.js';

const put = (key: string, value: string): Call => ({ f: 'put', key, value });
const get = (key: string): Call => ({ f: 'get', key, serializable: false });
const cas = (key: string, expected: string | null, value: string): Call => ({ f: 'cas', key, expected, value });
const got = (value: string | null): Result => ({ f: 'get', value, modRevision: 0 });
const PUT: Result = { f: 'put' };

test('accepts a sequential history and concurrent overlaps in either order', (t) => {
  for (const read of ['1', '2']) {
    const h = builder();
    h.op(0, put('a', '1'), 0, 10, 'ok', PUT);
    h.op(1, put('a', '2'), 5, 15, 'ok', PUT);
    h.op(2, get('a'), 12, 20, 'ok', got(read));
    h.op(0, get('a'), 21, 22, 'ok', got(read));
    h.op(1, put('b', 'x'), 30, 31, 'ok', PUT);
    h.op(1, get('b'), 32, 33, 'ok', got('x'));
    t.is(checkLinearizability(h.ops).verdict, 'linearizable', `read ${read}`);
  }
});

test('accepts unknown puts that did and did not take effect', (t) => {
  const h = builder();
  h.op(0, put('a', '1'), 0, 5, 'ok', PUT);
  h.op(1, put('a', '2'), 10, 12, 'unknown'); // never applied
  h.op(2, get('a'), 100, 110, 'ok', got('1'));
  h.op(3, put('a', '3'), 120, 125, 'unknown'); // applied long after its timeout
  h.op(2, get('a'), 200, 210, 'ok', got('1'));
  h.op(2, get('a'), 300, 310, 'ok', got('3'));
  for (let i = 0; i < 40; i++) h.op(10 + i, put('a', `u${i}`), 400 + i, 401 + i, 'unknown'); // many interchangeable timeouts
  h.op(2, get('a'), 500, 510, 'ok', got('3'));
  h.op(4, put('a', '9'), 600, 601, 'failed');
  h.op(2, get('a'), 700, 710, 'ok', got('3'));
  t.is(checkLinearizability(h.ops).verdict, 'linearizable');
});

test('accepts compare-and-swap, deletes and multi-key ops used correctly', (t) => {
  const h = builder();
  h.op(0, cas('a', null, '1'), 0, 5, 'ok', { f: 'cas', succeeded: true });
  h.op(1, cas('a', null, '2'), 6, 8, 'ok', { f: 'cas', succeeded: false });
  h.op(0, cas('a', '1', '3'), 10, 15, 'ok', { f: 'cas', succeeded: true });
  h.op(1, { f: 'delete', key: 'a' }, 20, 25, 'ok', { f: 'delete', deleted: 1 });
  h.op(1, { f: 'delete', key: 'a' }, 26, 27, 'ok', { f: 'delete', deleted: 0 });
  h.op(
    2,
    {
      f: 'mput',
      kvs: [
        ['a', '4'],
        ['b', '5'],
      ],
    },
    30,
    35,
    'ok',
    { f: 'mput' },
  );
  h.op(0, { f: 'mget', keys: ['a', 'b'] }, 40, 45, 'ok', { f: 'mget', values: ['4', '5'] });
  h.op(0, cas('a', '1', '6'), 50, 55, 'unknown');
  h.op(0, get('a'), 60, 65, 'ok', got('4'));
  t.is(checkLinearizability(h.ops).verdict, 'linearizable');
});

test('rejects a stale read after an acknowledged write', (t) => {
  const h = builder();
  h.op(0, put('a', '1'), 0, 5, 'ok', PUT);
  h.op(0, put('a', '2'), 10, 15, 'ok', PUT);
  h.op(1, get('a'), 20, 25, 'ok', got('1'));
  const r = checkLinearizability(h.ops);
  t.is(r.verdict, 'not-linearizable');
  t.regex(r.explanation, /get a -> 1/);
});

test('rejects a lost acknowledged write', (t) => {
  const h = builder();
  h.op(0, put('a', '1'), 0, 5, 'ok', PUT);
  h.op(1, get('a'), 10, 15, 'ok', got(null));
  t.is(checkLinearizability(h.ops).verdict, 'not-linearizable');
});

test('rejects a read of a value never written, or written only after the read', (t) => {
  const h = builder();
  h.op(0, put('a', '1'), 0, 5, 'ok', PUT);
  h.op(1, get('a'), 10, 15, 'ok', got('x'));
  t.is(checkLinearizability(h.ops).verdict, 'not-linearizable');
  const late = builder();
  late.op(1, get('a'), 0, 5, 'ok', got('1'));
  late.op(0, put('a', '1'), 10, 12, 'unknown');
  t.is(checkLinearizability(late.ops).verdict, 'not-linearizable');
});

test('rejects a compare-and-swap succeeding on the wrong value', (t) => {
  const h = builder();
  h.op(0, put('a', '1'), 0, 5, 'ok', PUT);
  h.op(1, cas('a', '2', '3'), 10, 15, 'ok', { f: 'cas', succeeded: true });
  t.is(checkLinearizability(h.ops).verdict, 'not-linearizable');
  const failed = builder(); // and failing on the right one
  failed.op(0, put('a', '1'), 0, 5, 'ok', PUT);
  failed.op(1, cas('a', '1', '3'), 10, 15, 'ok', { f: 'cas', succeeded: false });
  t.is(checkLinearizability(failed.ops).verdict, 'not-linearizable');
});

test('reports undecided, not linearizable, when the budget runs out', (t) => {
  // 16 concurrent puts, 16 concurrent reads of them, then a read no order explains: the
  // search must try a vast number of interleavings before it can say no.
  const h = builder();
  for (let i = 0; i < 16; i++) h.op(i, put('a', `v${i}`), i, 1000, 'ok', PUT);
  for (let i = 0; i < 16; i++) h.op(16 + i, get('a'), i, 1000, 'ok', got(`v${i}`));
  h.op(99, get('a'), 2000, 2001, 'ok', got('zz'));
  const r = checkLinearizability(h.ops, { maxStepsPerKey: 200_000 });
  t.is(r.verdict, 'undecided');
  t.regex(r.explanation, /could not decide/);
});

const ev = (revision: number, key: string, value: string | null): RevEvent => ({ revision, key, value });

test('revision history: acknowledged writes at their revision, atomic multi-key writes, reads at their revision', (t) => {
  const rh = new RevisionHistory([ev(2, 'a', '1'), ev(3, 'a', '2'), ev(3, 'b', '3'), ev(4, 'a', null)]);
  const good = builder();
  good.op(0, put('a', '1'), 0, 1, 'ok', PUT, 2);
  good.op(
    0,
    {
      f: 'mput',
      kvs: [
        ['a', '2'],
        ['b', '3'],
      ],
    },
    2,
    3,
    'ok',
    { f: 'mput' },
    3,
  );
  good.op(1, { f: 'get', key: 'a', serializable: true }, 4, 5, 'ok', got('1'), 2);
  good.op(0, { f: 'delete', key: 'a' }, 6, 7, 'ok', { f: 'delete', deleted: 1 }, 4);
  t.deepEqual(checkAgainstRevisions(good.ops, rh), []);
  t.deepEqual(checkMonotonic(good.ops), []);

  const bad = builder();
  bad.op(0, put('a', '1'), 0, 1, 'ok', PUT, 3); // wrong revision
  bad.op(1, { f: 'get', key: 'b', serializable: true }, 4, 5, 'ok', got('3'), 2); // b absent at 2
  bad.op(0, put('c', '7'), 8, 9, 'failed'); // not applied: fine
  bad.op(
    0,
    {
      f: 'mput',
      kvs: [
        ['a', '2'],
        ['c', '8'],
      ],
    },
    10,
    11,
    'unknown',
  ); // applied partly
  const problems = checkAgainstRevisions(bad.ops, rh);
  t.is(problems.length, 4, problems.join('\n'));
  t.regex(
    problems.join('\n'),
    /revision 3 holds 3, which no client wrote[\s\S]*not at its revision 3[\s\S]*state at its revision 2[\s\S]*applied partly/,
  );

  const invented = new RevisionHistory([ev(2, 'a', 'nobody')]);
  t.regex(checkAgainstRevisions([], invented).join(), /no client wrote/);
  const gap = new RevisionHistory([ev(2, 'a', '1'), ev(4, 'a', '2')]);
  t.regex(checkAgainstRevisions([], gap).join(), /from 2 to 4/);
});

test('monotonic revisions per client', (t) => {
  const h = builder();
  h.op(0, put('a', '1'), 0, 1, 'ok', PUT, 5);
  h.op(0, get('a'), 2, 3, 'ok', got('1'), 4);
  t.regex(checkMonotonic(h.ops).join(), /went backwards for c0: 5 then 4/);
});

test('real-time order: an op that began after another ended sees at least its revision', (t) => {
  const good = builder();
  good.op(0, put('a', '1'), 0, 10, 'ok', PUT, 5);
  good.op(1, get('b'), 5, 20, 'ok', got(null), 4); // overlaps the put: either order
  good.op(2, { f: 'get', key: 'a', serializable: true }, 30, 31, 'ok', got(null), 3); // stale by contract
  good.op(3, { f: 'keepalive', lease: 7 }, 32, 33, 'ok', { f: 'keepalive', ttl: 2, headerRevision: 1 }); // no op revision
  good.op(1, get('b'), 40, 41, 'ok', got(null), 5);
  t.deepEqual(checkRealTimeOrder(good.ops), []);

  const bad = builder();
  bad.op(0, put('a', '1'), 0, 10, 'ok', PUT, 5);
  bad.op(1, get('kl0'), 11, 12, 'ok', got(null), 4); // another key, another client: still after
  t.regex(checkRealTimeOrder(bad.ops).join(), /revision 4 of an op that began after another ended at revision 5/);
});

test('watch check: exact committed sequence, no gap, no duplicate, revisions whole', (t) => {
  const rh = new RevisionHistory([ev(2, 'a', '1'), ev(3, 'a', '2'), ev(3, 'b', '3'), ev(4, 'a', null)]);
  const ok = {
    name: 'w',
    startRevision: 1,
    batches: [
      { member: 'n1', events: [ev(2, 'a', '1')] },
      { member: 'n2', events: [ev(3, 'a', '2'), ev(3, 'b', '3')] },
    ],
  };
  t.deepEqual(checkWatcher(ok, rh), []);
  const gap = { name: 'w', startRevision: 1, batches: [{ member: 'n1', events: [ev(2, 'a', '1'), ev(4, 'a', null)] }] };
  t.regex(checkWatcher(gap, rh).join(), /event 1 is a=<delete>@4, the committed history has a=2@3/);
  const dup = {
    name: 'w',
    startRevision: 1,
    batches: [
      { member: 'n1', events: [ev(2, 'a', '1')] },
      { member: 'n2', events: [ev(2, 'a', '1')] },
    ],
  };
  t.not(checkWatcher(dup, rh).length, 0);
  const split = {
    name: 'w',
    startRevision: 3,
    batches: [
      { member: 'n1', events: [ev(3, 'a', '2')] },
      { member: 'n1', events: [ev(3, 'b', '3')] },
    ],
  };
  t.regex(checkWatcher(split, rh).join(), /two responses/);
  const early = {
    ...ok,
    progress: [
      { member: 'n2', revision: 2, lastSeen: 2 },
      { member: 'n3', revision: 4, lastSeen: 2 },
    ],
  };
  t.regex(checkWatcher(early, rh).join(), /n3 notified progress at revision 4 before sending a=2@3/);
});
