// KeyCoverage: whether the union of a user's permission intervals covers a requested key,
// range or prefix. Checked against a brute-force model over a small alphabet, from a seed.
import test from 'ava';
import { intervalOf, KeyCoverage, type KeyInterval } from '../../server/apply/auth/key-coverage.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('single keys, ranges, prefixes and from-key grants', (t) => {
  const cover = new KeyCoverage([intervalOf(b('a/'), b('a0')), intervalOf(b('k'), b('')), intervalOf(b('m'), b('\0'))]);
  t.true(cover.covers(intervalOf(b('a/x'), b(''))));
  t.true(cover.covers(intervalOf(b('a/'), b('a0'))));
  t.false(cover.covers(intervalOf(b('a/'), b('a1'))), 'one key past the prefix');
  t.false(cover.covers(intervalOf(b('a'), b('a/z'))), 'starts before the prefix');
  t.true(cover.covers(intervalOf(b('k'), b(''))));
  t.false(cover.covers(intervalOf(b('k'), b('k\0\0'))), 'the grant is the key alone');
  t.false(cover.covers(intervalOf(b('kk'), b(''))));
  t.true(cover.covers(intervalOf(b('m'), b('\0'))), 'from-key inside from-key');
  t.true(cover.covers(intervalOf(b('zzz'), b('\0'))));
  t.false(cover.covers(intervalOf(b('l'), b('\0'))));
  t.true(cover.covers(intervalOf(b('b'), b('a'))), 'an empty range selects nothing');
  t.false(new KeyCoverage([]).covers(intervalOf(b('a'), b(''))));
});

test('adjacent and overlapping grants merge: [a,c) + [c,e) covers [b,d)', (t) => {
  const cover = new KeyCoverage([intervalOf(b('c'), b('e')), intervalOf(b('a'), b('c'))]);
  t.true(cover.covers(intervalOf(b('b'), b('d'))));
  t.false(cover.covers(intervalOf(b('b'), b('f'))));
  const gap = new KeyCoverage([intervalOf(b('a'), b('c')), intervalOf(b('c\0'), b('e'))]);
  t.false(gap.covers(intervalOf(b('b'), b('d'))), 'the key "c" itself is missing');
});

test('matches a brute-force model on random grants and requests', (t) => {
  const seed = Number(process.env.COVERAGE_SEED ?? Date.now() % 1_000_000);
  t.log(`seed ${seed} (replay with COVERAGE_SEED=${seed})`);
  let state = seed;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const letters = ['a', 'b', 'c'];
  const word = (): string => Array.from({ length: 1 + rand(2) }, () => letters[rand(3)]!).join('');
  // Every key of up to 3 characters of "\0abc": each bound drawn (a word of up to 2
  // letters, or one followed by "\0") is one of them, so every gap between grants starts
  // at a key of the universe, and the brute force is exact.
  const universe: string[] = [];
  const grow = (prefix: string): void => {
    if (prefix.length > 0) universe.push(prefix);
    if (prefix.length < 3) for (const l of ['\0', ...letters]) grow(prefix + l);
  };
  grow('');
  const select = (): KeyInterval => {
    const kind = rand(3);
    if (kind === 0) return intervalOf(b(word()), b(''));
    if (kind === 1) return intervalOf(b(word()), b('\0'));
    return intervalOf(b(word()), b(word()));
  };
  const inside = (i: KeyInterval, k: string): boolean => k >= i.start && (i.end === undefined || k < i.end);
  for (let round = 0; round < 2000; round++) {
    const grants = Array.from({ length: rand(4) }, select);
    const wanted = select();
    const expected = universe.filter((k) => inside(wanted, k)).every((k) => grants.some((g) => inside(g, k)));
    t.is(new KeyCoverage(grants).covers(wanted), expected, `seed ${seed} round ${round}: ${JSON.stringify({ grants, wanted })}`);
  }
});
