import test from 'ava';
import { InvariantError } from '../../server/invariant.js';
import { KeyIndex, revisionId, type KeyAtRevision } from '../../server/mvcc/key-index.js';
import type { Revision } from '../../server/mvcc/revision.js';

const r = (main: number, sub = 0): Revision => ({ main, sub });
const at = (modified: Revision, created: Revision, version: number): KeyAtRevision => ({ modified, created, version });

function rangeOf(index: KeyIndex, start: string, end: string | undefined, atRev: number): [string, number, number, number][] {
  const out: [string, number, number, number][] = [];
  index.range(start, end, atRev, (key, found) => out.push([key, found.modified.main, found.created.main, found.version]));
  return out;
}

test('put and get at revisions', (t) => {
  const index = new KeyIndex();
  index.put('a', r(2));
  index.put('a', r(4, 1));
  index.put('b', r(3));
  t.is(index.size, 2);
  t.is(index.get('a', 1), undefined);
  t.deepEqual(index.get('a', 2), at(r(2), r(2), 1));
  t.deepEqual(index.get('a', 3), at(r(2), r(2), 1));
  t.deepEqual(index.get('a', 4), at(r(4, 1), r(2), 2));
  t.deepEqual(index.get('a', 100), at(r(4, 1), r(2), 2));
  t.deepEqual(index.get('b', 3), at(r(3), r(3), 1));
  t.is(index.get('c', 100), undefined);
});

test('tombstone ends a life; re-create starts a new generation with version 1', (t) => {
  const index = new KeyIndex();
  index.put('k', r(2));
  index.put('k', r(3));
  index.tombstone('k', r(4));
  index.put('k', r(6));
  index.put('k', r(7));
  t.is(index.get('k', 1), undefined);
  t.deepEqual(index.get('k', 3), at(r(3), r(2), 2));
  t.is(index.get('k', 4), undefined);
  t.is(index.get('k', 5), undefined);
  t.deepEqual(index.get('k', 6), at(r(6), r(6), 1));
  t.deepEqual(index.get('k', 7), at(r(7), r(6), 2));
  index.tombstone('k', r(8));
  t.is(index.get('k', 8), undefined);
  t.deepEqual(index.get('k', 7), at(r(7), r(6), 2));
});

test('tombstone of a key that is not live is an invariant error', (t) => {
  const index = new KeyIndex();
  t.throws(() => index.tombstone('nope', r(2)), { instanceOf: InvariantError, message: /not live/ });
  index.put('k', r(2));
  index.tombstone('k', r(3));
  t.throws(() => index.tombstone('k', r(4)), { instanceOf: InvariantError });
});

test('several changes of one key inside one main revision', (t) => {
  const index = new KeyIndex();
  index.put('k', r(5, 0));
  index.put('k', r(5, 1));
  index.tombstone('k', r(5, 2));
  index.put('k', r(5, 3));
  // Only the last change of main 5 is visible; its generation began at 5.3.
  t.deepEqual(index.get('k', 5), at(r(5, 3), r(5, 3), 1));
  t.is(index.get('k', 4), undefined);
});

test('range selects a key, [start, end) and from-key at past revisions', (t) => {
  const index = new KeyIndex();
  index.put('a', r(2));
  index.put('b', r(3));
  index.put('c', r(4));
  index.tombstone('b', r(5));
  index.put('d', r(6));
  index.put('a', r(7));
  t.deepEqual(rangeOf(index, 'a', undefined, 7), [['a', 7, 2, 2]]);
  t.deepEqual(rangeOf(index, 'b', undefined, 7), []);
  t.deepEqual(rangeOf(index, 'b', undefined, 4), [['b', 3, 3, 1]]);
  t.deepEqual(rangeOf(index, 'a', 'c', 7), [['a', 7, 2, 2]]);
  t.deepEqual(rangeOf(index, 'a', 'c', 4), [
    ['a', 2, 2, 1],
    ['b', 3, 3, 1],
  ]);
  t.deepEqual(rangeOf(index, 'a', 'd', 5), [
    ['a', 2, 2, 1],
    ['c', 4, 4, 1],
  ]);
  // end '' means no upper bound; the last key is included.
  t.deepEqual(rangeOf(index, 'b', '', 7), [
    ['c', 4, 4, 1],
    ['d', 6, 6, 1],
  ]);
  t.deepEqual(rangeOf(index, '', '', 3), [
    ['a', 2, 2, 1],
    ['b', 3, 3, 1],
  ]);
  t.deepEqual(rangeOf(index, 'z', '', 7), []);
  t.deepEqual(rangeOf(index, 'e', 'z', 7), []);
  // An empty or inverted range selects nothing.
  t.deepEqual(rangeOf(index, 'c', 'c', 7), []);
  t.deepEqual(rangeOf(index, 'd', 'a', 7), []);
  t.deepEqual(rangeOf(index, 'a', 'z', 1), []);
  t.deepEqual(rangeOf(new KeyIndex(), '', '', 10), []);
});

test('previous() is the change just before, unless that was a delete', (t) => {
  const index = new KeyIndex();
  index.put('k', r(2));
  index.put('k', r(3, 1));
  index.tombstone('k', r(4));
  index.put('k', r(5));
  t.is(index.previous('k', r(2)), undefined);
  t.deepEqual(index.previous('k', r(3, 1)), at(r(2), r(2), 1));
  // The delete's previous version is the last put.
  t.deepEqual(index.previous('k', r(4)), at(r(3, 1), r(2), 2));
  // A re-create follows a delete: no previous version.
  t.is(index.previous('k', r(5)), undefined);
  t.deepEqual(index.previous('k', r(9)), at(r(5), r(5), 1));
  t.is(index.previous('missing', r(9)), undefined);
  // Within one main revision, sub-revisions order the changes.
  index.put('t', r(7, 0));
  index.put('t', r(7, 1));
  t.deepEqual(index.previous('t', r(7, 1)), at(r(7, 0), r(7, 0), 1));
});

test('compact keeps the latest put at or before atRev and reports the ones below it', (t) => {
  const index = new KeyIndex();
  index.put('a', r(2)); // a: 2, 3, 6
  index.put('a', r(3));
  index.put('b', r(4)); // b: 4, deleted at 5
  index.tombstone('b', r(5));
  index.put('a', r(6));
  index.put('c', r(7)); // c: 7 only, after the compaction point

  const kept = index.compact(5);
  // a's latest change at or before 5 is rev 3: kept. b ended at 5 = atRev: its tombstone is
  // at atRev itself (not below), so nothing below 5 needs keeping for it.
  t.deepEqual([...kept].sort(), [revisionId(r(3))]);
  t.deepEqual(index.get('a', 5), at(r(3), r(2), 2));
  t.deepEqual(index.get('a', 6), at(r(6), r(2), 3));
  t.is(index.get('b', 5), undefined);
  t.deepEqual(index.get('c', 7), at(r(7), r(7), 1));
  t.is(index.size, 3);
  // previous() no longer reaches compacted revisions.
  t.is(index.previous('a', r(3)), undefined);
  t.deepEqual(index.previous('a', r(6)), at(r(3), r(2), 2));

  // Compacting past the tombstone forgets b entirely.
  const kept2 = index.compact(6);
  t.deepEqual([...kept2].sort(), []);
  t.is(index.size, 2);
  t.is(index.get('b', 100), undefined);
  t.deepEqual(index.get('a', 6), at(r(6), r(2), 3));
});

test('compact keeps a put made exactly at atRev without reporting it', (t) => {
  const index = new KeyIndex();
  index.put('a', r(2));
  index.put('a', r(4));
  const kept = index.compact(4);
  t.deepEqual([...kept], []);
  t.deepEqual(index.get('a', 4), at(r(4), r(2), 2));
  t.is(index.previous('a', r(4)), undefined);
});

test('compact drops ended generations but keeps the live one, with create revision and version', (t) => {
  const index = new KeyIndex();
  index.put('k', r(2));
  index.tombstone('k', r(3));
  index.put('k', r(4));
  index.put('k', r(5));
  index.put('k', r(6));
  index.put('other', r(7));
  const kept = index.compact(8);
  t.deepEqual([...kept].sort(), [revisionId(r(6)), revisionId(r(7))]);
  t.deepEqual(index.get('k', 8), at(r(6), r(4), 3));
  index.put('k', r(9));
  t.deepEqual(index.get('k', 9), at(r(9), r(4), 4));
  // Compacting again at the same point changes nothing.
  t.deepEqual([...index.compact(8)].sort(), [revisionId(r(6)), revisionId(r(7))]);
  t.deepEqual(index.get('k', 9), at(r(9), r(4), 4));
});

test('compact keeps a tombstone exactly at atRev, so a read at atRev sees the key deleted', (t) => {
  const index = new KeyIndex();
  index.put('k', r(2));
  index.put('k', r(3));
  index.tombstone('k', r(4));
  index.put('k', r(6));
  const kept = index.compact(4);
  t.deepEqual([...kept], []);
  t.is(index.size, 1);
  t.is(index.get('k', 4), undefined);
  t.is(index.get('k', 5), undefined);
  t.deepEqual(index.get('k', 6), at(r(6), r(6), 1));
  t.is(index.previous('k', r(6)), undefined);
});

test('compact does not touch revisions after atRev', (t) => {
  const index = new KeyIndex();
  index.put('k', r(2));
  index.put('k', r(5));
  index.put('k', r(6));
  index.tombstone('k', r(7));
  const kept = index.compact(3);
  t.deepEqual([...kept], [revisionId(r(2))]);
  t.deepEqual(index.get('k', 3), at(r(2), r(2), 1));
  t.deepEqual(index.get('k', 5), at(r(5), r(2), 2));
  t.deepEqual(index.get('k', 6), at(r(6), r(2), 3));
  t.is(index.get('k', 7), undefined);
  t.deepEqual(index.previous('k', r(7)), at(r(6), r(2), 3));
});

test('compact keeps history that begins after atRev', (t) => {
  const index = new KeyIndex();
  index.put('late', r(10));
  t.deepEqual([...index.compact(5)], []);
  t.deepEqual(index.get('late', 10), at(r(10), r(10), 1));
});

test('restorePut and restoreTombstone rebuild what put/tombstone built, even after compaction', (t) => {
  // Full history restored: same as live indexing.
  const full = new KeyIndex();
  full.restorePut('k', r(2), 2, 1);
  full.restorePut('k', r(3), 2, 2);
  full.restoreTombstone('k', r(4));
  full.restorePut('k', r(5), 5, 1);
  t.deepEqual(full.get('k', 3), at(r(3), r(2), 2));
  t.is(full.get('k', 4), undefined);
  t.deepEqual(full.get('k', 5), at(r(5), r(5), 1));

  // After compaction the creating put is gone: creation and version come from the record.
  const compacted = new KeyIndex();
  compacted.restorePut('k', r(7), 3, 4);
  compacted.restorePut('k', r(8), 3, 5);
  t.deepEqual(compacted.get('k', 7), at(r(7), r(3), 4));
  t.deepEqual(compacted.get('k', 8), at(r(8), r(3), 5));
  compacted.put('k', r(9));
  t.deepEqual(compacted.get('k', 9), at(r(9), r(3), 6));
  t.deepEqual(compacted.previous('k', r(9)), at(r(8), r(3), 5));

  // A tombstone whose put was compacted away: the key reads as missing, and a new life starts.
  const orphan = new KeyIndex();
  orphan.restoreTombstone('g', r(6));
  t.is(orphan.get('g', 6), undefined);
  t.is(orphan.get('g', 7), undefined);
  orphan.restorePut('g', r(8), 8, 1);
  t.deepEqual(orphan.get('g', 8), at(r(8), r(8), 1));
  t.is(orphan.previous('g', r(8)), undefined);
  t.deepEqual([...orphan.compact(6)], []);
  t.deepEqual(orphan.get('g', 8), at(r(8), r(8), 1));
  // The orphan tombstone below the compaction point disappears.
  orphan.compact(8);
  t.deepEqual(orphan.get('g', 8), at(r(8), r(8), 1));
});

test('restore then compact yields the same kept set as live indexing then compact', (t) => {
  const ops: [string, number, 'put' | 'del'][] = [
    ['a', 2, 'put'],
    ['b', 3, 'put'],
    ['a', 4, 'put'],
    ['b', 5, 'del'],
    ['c', 6, 'put'],
    ['a', 7, 'del'],
    ['a', 8, 'put'],
    ['c', 9, 'put'],
  ];
  const live = new KeyIndex();
  for (const [key, main, kind] of ops) {
    if (kind === 'put') live.put(key, r(main));
    else live.tombstone(key, r(main));
  }
  const restored = new KeyIndex();
  const created = new Map<string, number>();
  const versions = new Map<string, number>();
  for (const [key, main, kind] of ops) {
    if (kind === 'put') {
      if (!created.has(key)) created.set(key, main);
      versions.set(key, (versions.get(key) ?? 0) + 1);
      restored.restorePut(key, r(main), created.get(key)!, versions.get(key)!);
    } else {
      created.delete(key);
      versions.delete(key);
      restored.restoreTombstone(key, r(main));
    }
  }
  for (let rev = 1; rev <= 10; rev++) t.deepEqual(rangeOf(restored, '', '', rev), rangeOf(live, '', '', rev), `at ${rev}`);
  t.deepEqual([...restored.compact(7)].sort(), [...live.compact(7)].sort());
  for (let rev = 7; rev <= 10; rev++) t.deepEqual(rangeOf(restored, '', '', rev), rangeOf(live, '', '', rev), `at ${rev}`);
});

// A key's generation keeps its latest change apart from the earlier ones, which it copies to
// grow while they are few and pushes to past 16: every read must see the same history across
// both forms, the generations around a delete, and compactions that cut into them.
test('a key with a long history reads the same at every revision, across deletes and compactions', (t) => {
  const index = new KeyIndex();
  // k: puts at 2..41 (sub 0 and 1 alternately as in transactions), deleted at 42, again 43..45.
  for (let main = 2; main <= 41; main++) index.put('k', r(main, main % 2));
  index.tombstone('k', r(42));
  for (let main = 43; main <= 45; main++) index.put('k', r(main));
  for (let main = 2; main <= 41; main++) t.deepEqual(index.get('k', main), at(r(main, main % 2), r(2), main - 1), `at ${main}`);
  t.is(index.get('k', 42), undefined);
  t.deepEqual(index.get('k', 44), at(r(44), r(43), 2));
  t.deepEqual(index.previous('k', r(41, 1)), at(r(40, 0), r(2), 39));
  t.is(index.previous('k', r(43)), undefined); // just before 43 is the delete

  // A read at 31 sees the put at 31 itself: kept, and not reported (it is not below 31).
  t.deepEqual([...index.compact(31)], []);
  for (let main = 31; main <= 41; main++) {
    t.deepEqual(index.get('k', main), at(r(main, main % 2), r(2), main - 1), `at ${main} after compact`);
  }
  t.is(index.previous('k', r(31, 1)), undefined);
  t.deepEqual(index.previous('k', r(33, 1)), at(r(32), r(2), 31));

  // Past the delete only the second life is left, created at 43, version counting on.
  t.deepEqual([...index.compact(44)], []);
  t.deepEqual(index.get('k', 44), at(r(44), r(43), 2));
  t.deepEqual(index.get('k', 100), at(r(45), r(43), 3));
  t.is(index.size, 1);
});

test('putAfterRead answers what get() saw before the put and indexes it as put() does', (t) => {
  const viaPutAfterRead = new KeyIndex();
  const viaGetThenPut = new KeyIndex();
  // A new key, a second change in a later revision, two in one revision, and a key re-created
  // after a delete (its old life is not what a read sees).
  const steps: [string, Revision, number][] = [
    ['a', r(2), 1],
    ['a', r(3), 2],
    ['b', r(4, 0), 3],
    ['b', r(4, 1), 4],
    ['a', r(6), 5],
  ];
  for (const [key, rev, atRev] of steps) {
    if (key === 'a' && rev.main === 6) {
      viaPutAfterRead.tombstone('a', r(5));
      viaGetThenPut.tombstone('a', r(5));
    }
    const expected = viaGetThenPut.get(key, atRev);
    viaGetThenPut.put(key, rev);
    t.deepEqual(viaPutAfterRead.putAfterRead(key, rev, atRev), expected, `${key} at ${rev.main}.${rev.sub}`);
  }
  t.is(viaPutAfterRead.get('a', 5), undefined);
  for (const key of ['a', 'b']) {
    for (let atRev = 1; atRev <= 7; atRev++)
      t.deepEqual(viaPutAfterRead.get(key, atRev), viaGetThenPut.get(key, atRev), `${key} at ${atRev}`);
  }
});

test('a key put once reads the same whether its revision packs into a number or not', (t) => {
  // The largest revision that packs (main below 2^37, sub below 2^16), and the first two that
  // do not: a key put once is held as its packed revision, or as a Generation past the bounds.
  for (const rev of [r(2 ** 37 - 1, 2 ** 16 - 1), r(2 ** 37, 0), r(7, 2 ** 16), r(7, 3)]) {
    const m = rev.main;
    const label = `at ${m}.${rev.sub}`;
    const index = new KeyIndex();
    index.put('k', rev);
    t.is(index.get('k', m - 1), undefined, label);
    t.deepEqual(index.get('k', m), at(rev, rev, 1), label);
    t.deepEqual(rangeOf(index, '', '', m), [['k', m, m, 1]], label);
    t.is(index.previous('k', rev), undefined, label);
    t.deepEqual(index.previous('k', r(m + 1)), at(rev, rev, 1), label);
    t.deepEqual([...index.compact(m)], [], label);
    t.deepEqual([...index.compact(m + 1)], [revisionId(rev)], label);
    t.deepEqual(index.get('k', m + 1), at(rev, rev, 1), label);

    // The second change, a delete and a new life, from the packed form.
    index.put('k', r(m + 2));
    t.deepEqual(index.get('k', m + 2), at(r(m + 2), rev, 2), label);
    index.tombstone('k', r(m + 3));
    t.is(index.get('k', m + 3), undefined, label);
    index.put('k', r(m + 4));
    t.deepEqual(index.get('k', m + 4), at(r(m + 4), r(m + 4), 1), label);

    // A delete straight after one put.
    index.put('d', rev);
    index.tombstone('d', r(m + 5));
    t.deepEqual(index.get('d', m + 4), at(rev, rev, 1), label);
    t.is(index.get('d', m + 5), undefined, label);

    // Restored from a record that says it was created earlier, or is a later version: no
    // longer the one put a packed revision stands for.
    const restored = new KeyIndex();
    restored.restorePut('c', rev, m - 1, 1);
    restored.restorePut('v', rev, m, 4);
    restored.restorePut('p', rev, m, 1);
    t.deepEqual(restored.get('c', m), at(rev, r(m - 1), 1), label);
    // Only the created revision's main is read (etcd's create_revision): its sub is not compared.
    for (const [key, version] of [
      ['v', 4],
      ['p', 1],
    ] as const) {
      const found = restored.get(key, m)!;
      t.deepEqual([found.modified, found.created.main, found.version], [rev, m, version], `${label} ${key}`);
    }
    restored.restoreTombstone('p', r(m + 1));
    t.is(restored.get('p', m + 1), undefined, label);
  }
});
