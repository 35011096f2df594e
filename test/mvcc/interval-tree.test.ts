// The interval tree and the watcher index that finds watchers by an event's key, checked
// against a brute-force scan over random intervals, keys and deletions.
import test from 'ava';
import { IntervalTree } from '../../server/mvcc/interval-tree.js';
import { rangeContains, type KeyRange } from '../../server/mvcc/key-range.js';
import { Watcher, type WatchSink } from '../../server/mvcc/watcher.js';
import { WatcherIndex } from '../../server/mvcc/watcher-index.js';
import { seededRandom } from '../sim/prng.js';

const ALPHABET = ['a', 'b', 'c', '\x00', '\xff'];
function randomKey(rand: () => number): string {
  let k = '';
  const len = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < len; i++) k += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return k;
}

function randomRange(rand: () => number): KeyRange {
  const start = randomKey(rand);
  const r = rand();
  if (r < 0.3) return { start, end: undefined };
  if (r < 0.45) return { start, end: '' };
  let end = randomKey(rand);
  if (end <= start) end = start + end; // keep it non-empty
  return { start, end };
}

test('interval tree: stabbing queries match a brute-force scan through inserts and deletes', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const rand = seededRandom(seed);
    const tree = new IntervalTree<string>();
    const model = new Map<string, KeyRange>();
    for (let step = 0; step < 400; step++) {
      const r = rand();
      if (r < 0.5 || model.size === 0) {
        const range = randomRange(rand);
        if (range.end === undefined) continue;
        const id = `${range.start}|${range.end}`;
        tree.set(range.start, range.end, id);
        model.set(id, range);
      } else if (r < 0.75) {
        const ids = [...model.keys()];
        const id = ids[Math.floor(rand() * ids.length)]!;
        const range = model.get(id)!;
        t.true(tree.delete(range.start, range.end!), `seed ${seed}: delete ${id}`);
        t.false(tree.delete(range.start, range.end!), `seed ${seed}: delete ${id} twice`);
        model.delete(id);
      } else {
        const key = randomKey(rand);
        const got: string[] = [];
        tree.stab(key, (v) => got.push(v));
        const want = [...model].filter(([, range]) => rangeContains(range, key)).map(([id]) => id);
        t.deepEqual(got.sort(), want.sort(), `seed ${seed} step ${step}: intervals containing ${JSON.stringify(key)}`);
      }
      t.is(tree.size, model.size);
    }
  }
});

/** The index never calls the sink. */
const sink = {} as WatchSink;
function watcher(id: number, range: KeyRange): Watcher {
  return new Watcher(
    { id, range, startRevision: 1, prevKv: false, noPut: false, noDelete: false, progressNotify: false, fragment: false },
    sink,
  );
}

test('watcher index: finds exactly the watchers whose key or range holds the key', (t) => {
  for (let seed = 1; seed <= 10; seed++) {
    const rand = seededRandom(100 + seed);
    const index = new WatcherIndex();
    const live = new Set<Watcher>();
    let nextId = 1;
    for (let step = 0; step < 500; step++) {
      const r = rand();
      if (r < 0.5 || live.size === 0) {
        // Several watchers often share a key or range.
        const range = rand() < 0.3 && live.size > 0 ? [...live][Math.floor(rand() * live.size)]!.range : randomRange(rand);
        const w = watcher(nextId++, range);
        index.add(w);
        live.add(w);
      } else if (r < 0.7) {
        const w = [...live][Math.floor(rand() * live.size)]!;
        t.true(index.delete(w));
        t.false(index.delete(w));
        live.delete(w);
      } else {
        const key = randomKey(rand);
        const got: number[] = [];
        index.match(key, (w) => got.push(w.id));
        const want = [...live].filter((w) => rangeContains(w.range, key)).map((w) => w.id);
        t.deepEqual(
          got.sort((a, b) => a - b),
          want.sort((a, b) => a - b),
          `seed ${seed} step ${step}: watchers of ${JSON.stringify(key)}`,
        );
      }
      t.is(index.size, live.size);
      t.is(index.all().length, live.size);
    }
  }
});
