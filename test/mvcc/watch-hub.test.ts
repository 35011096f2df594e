// The watch hub against a model, with sinks whose small buffers fill up and drain at random
// moments: watchers fall out of the synced group, catch up from storage in groups and go
// live again. Every watcher must get exactly its events, each revision whole, in order,
// once, and the hub must never claim progress past an event it has not handed over.
import test from 'ava';
import { pino } from 'pino';
import { Event_EventType } from '../../gen/ts/cairn/v1/types.js';
import type { RevisionEvents } from '../../server/mvcc/events.js';
import { rangeContains, type KeyRange } from '../../server/mvcc/key-range.js';
import { WatchHub } from '../../server/mvcc/watch-hub.js';
import { Watcher, type WatchSink } from '../../server/mvcc/watcher.js';
import { b, TestStore } from '../helpers/mvcc-store.js';
import { seededRandom } from '../sim/prng.js';

/** What a watcher got, as "type key=value@rev prev=..." lines, one array per offered revision. */
type Received = string[][];

const describe = (e: RevisionEvents['events'][number], prevKv: boolean): string =>
  `${e.type === Event_EventType.EVENT_TYPE_PUT ? 'PUT' : 'DEL'} ${e.kv!.key.toString('latin1')}=${e.kv!.value.toString('latin1')}@${e.kv!.modRevision}` +
  (prevKv ? ` prev=${e.prevKv?.value.toString('latin1') ?? '-'}` : '');

/** A stream stand-in: holds up to `capacity` events for its watchers until drained. */
class FakeSink implements WatchSink {
  buffered: { watcher: Watcher; rev: RevisionEvents }[] = [];
  readonly received = new Map<Watcher, Received>();
  refused = 0;

  constructor(
    private readonly capacity: number,
    private readonly hub: () => WatchHub,
  ) {}

  private get events(): number {
    let n = 0;
    for (const x of this.buffered) n += x.rev.events.length;
    return n;
  }

  offer(watcher: Watcher, rev: RevisionEvents): boolean {
    const n = rev.events.length;
    if (this.buffered.length > 0 && this.events + n > this.capacity) {
      this.refused++;
      return false;
    }
    this.buffered.push({ watcher, rev });
    watcher.queuedEvents += n;
    return true;
  }

  hasRoom(): boolean {
    return this.events <= this.capacity / 2;
  }

  compacted(): void {
    throw new Error('no compaction in this test');
  }

  /** Hands everything buffered to the "client" and tells the hub there is room. */
  drain(): void {
    for (const { watcher, rev } of this.buffered) {
      watcher.queuedEvents -= rev.events.length;
      const list = this.received.get(watcher) ?? [];
      list.push(rev.events.map((e) => describe(e, watcher.prevKv)));
      this.received.set(watcher, list);
    }
    this.buffered = [];
    this.hub().wake();
  }

  /** Revisions offered to the watcher so far (drained or not). */
  offeredRevisions(watcher: Watcher): Set<number> {
    const revs = new Set<number>();
    for (const list of this.received.get(watcher) ?? []) for (const line of list) revs.add(Number(/@(\d+)/.exec(line)![1]));
    for (const x of this.buffered) if (x.watcher === watcher) revs.add(x.rev.revision);
    return revs;
  }
}

interface Spec {
  watcher: Watcher;
  sink: FakeSink;
  range: KeyRange;
  start: number;
}

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
  test(`seed ${seed}: every watcher gets exactly its events through fall-outs and group catch-ups`, async (t) => {
    const rand = seededRandom(seed);
    const ts = await TestStore.create(seed % 2 === 0 ? 'leveldb' : 'rocksdb');
    t.teardown(() => ts.destroy());
    const hub = new WatchHub(
      ts.store,
      {
        maxWatcherBufferEvents: 1 + Math.floor(rand() * 6),
        watchCatchUpBatchEvents: 1 + Math.floor(rand() * 8),
        // History from storage only, from a window that holds some recent revisions, or all.
        watchCacheBytes: [0, 3000, 1e9][seed % 3]!,
      },
      pino({ level: 'silent' }),
    );
    const sinks = Array.from({ length: 3 }, () => new FakeSink(2 + Math.floor(rand() * 10), () => hub));
    const specs: Spec[] = [];
    let nextId = 1;

    const addWatcher = (): void => {
      const r = rand();
      const start = KEYS[Math.floor(rand() * KEYS.length)]!;
      const range: KeyRange =
        r < 0.4
          ? { start, end: undefined }
          : r < 0.6
            ? { start, end: '' }
            : { start, end: KEYS[Math.min(KEYS.length - 1, KEYS.indexOf(start) + 1 + Math.floor(rand() * 3))]! + 'z' };
      const current = ts.store.currentRevision;
      const s = rand();
      const startRevision = s < 0.4 ? 0 : s < 0.85 ? 1 + Math.floor(rand() * Math.max(1, current)) : current + 1 + Math.floor(rand() * 5);
      const sink = sinks[Math.floor(rand() * sinks.length)]!;
      const watcher = new Watcher(
        {
          id: nextId++,
          range,
          startRevision,
          prevKv: rand() < 0.3,
          noPut: rand() < 0.15,
          noDelete: rand() < 0.15,
          progressNotify: false,
          fragment: false,
        },
        sink,
      );
      hub.add(watcher);
      specs.push({ watcher, sink, range, start: startRevision === 0 ? current + 1 : startRevision });
    };

    /** Every watcher: all wanted events at or below its progress revision were offered. */
    const history = async (): Promise<RevisionEvents[]> =>
      (await ts.store.readEvents(1, ts.store.currentRevision, Number.MAX_SAFE_INTEGER, true)).revisions;
    const wanted = (spec: Spec, rev: RevisionEvents): RevisionEvents['events'] =>
      rev.revision < spec.start
        ? []
        : rev.events.filter((e) => spec.watcher.wantsType(e) && rangeContains(spec.range, e.kv!.key.toString('latin1')));
    const checkProgress = async (): Promise<void> => {
      const all = await history();
      for (const spec of specs) {
        const progress = hub.progressRevision(spec.watcher);
        const offered = spec.sink.offeredRevisions(spec.watcher);
        const missing = all.find((rev) => rev.revision <= progress && wanted(spec, rev).length > 0 && !offered.has(rev.revision));
        t.is(missing, undefined, `watch ${spec.watcher.id}: progress ${progress} claims revision ${missing?.revision} it was not given`);
      }
    };

    for (let i = 0; i < 5; i++) addWatcher();
    for (let step = 0; step < 150; step++) {
      const r = rand();
      const key = KEYS[Math.floor(rand() * KEYS.length)]!;
      if (r < 0.45) await ts.put(key, `v${step}`);
      else if (r < 0.55) await ts.del(key);
      else if (r < 0.65) await ts.del(key, KEYS[Math.min(KEYS.length - 1, KEYS.indexOf(key) + 2)]! + 'z');
      else if (r < 0.75) {
        const other = KEYS[Math.floor(rand() * KEYS.length)]!;
        const put = (k: string, v: string) => ({ request: { $case: 'requestPut' as const, requestPut: { key: b(k), value: b(v) } } });
        await ts.txn({ success: [put(key, `t${step}`), put(other, `u${step}`), put(key, `w${step}`)] });
      } else if (r < 0.82) addWatcher();
      else if (r < 0.95) sinks[Math.floor(rand() * sinks.length)]!.drain();
      else await checkProgress();
      if (rand() < 0.3) await tick(); // let catch-up rounds run at random points
    }
    await checkProgress();

    // Drain until every watcher is live and holds nothing.
    const deadline = Date.now() + 20_000;
    while (specs.some((s) => !s.watcher.synced) || sinks.some((s) => s.buffered.length > 0)) {
      if (Date.now() > deadline) throw new Error('watchers did not catch up');
      for (const sink of sinks) sink.drain();
      await tick();
    }

    const all = await history();
    for (const spec of specs) {
      const expected = all
        .map((rev) => wanted(spec, rev).map((e) => describe(e, spec.watcher.prevKv)))
        .filter((events) => events.length > 0);
      t.deepEqual(spec.sink.received.get(spec.watcher) ?? [], expected, `watch ${spec.watcher.id} from ${spec.start}`);
    }
    t.true(
      sinks.some((s) => s.refused > 0),
      'the sinks filled up at least once',
    );
  });
}
