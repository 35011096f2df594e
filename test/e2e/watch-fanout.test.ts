/**
 * Fan-out under load: one member (a real `cairn serve` process), 10,000 watches on one key
 * over 100 streams, writers putting that key as fast as the member acknowledges. Every watch
 * must get every event, in order, once, and the member's resident memory must stay bounded
 * while the watches lag behind the writes: events wait in bounded per-stream buffers or are
 * read again from storage, never queued without limit. (This member once grew to 3.2 GB and
 * delivered nothing in this situation.)
 *
 * Nothing here depends on timing: writers go as fast as their puts are acknowledged, and the
 * test waits for deliveries, with generous deadlines, so it holds on a busy machine.
 */
import test from 'ava';
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { KVServiceClient, PutRequest, type PutResponse } from '../../gen/ts/cairn/v1/kv.js';
import type { WatchRequest } from '../../gen/ts/cairn/v1/watch.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { createRequest, openRawWatch, parseWatchResponse } from '../helpers/watch-wire.js';

const STREAMS = 100;
const WATCHES_PER_STREAM = 100;
const WATCHES = STREAMS * WATCHES_PER_STREAM;
/** Streams share connections, ten to a connection, as clients multiplex them. */
const STREAMS_PER_CONNECTION = 10;
const WARM_UP_PUTS = 5;
const PUTS = 150;
const WRITERS = 8;
const KEY = Buffer.from('fanout/key');
/**
 * Growth of the member's RSS allowed over its size once the watches are open and warm.
 * Measured on a busy 2-core machine: +56 to +86 MB. With the unbounded queues this member
 * had, the same test grew it by 508 MB in 100 s without delivering any event (and a longer
 * run to 3.2 GB).
 */
const RSS_GROWTH_BOUND_MB = 250;
const DEADLINE_MS = 100_000;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)![1]) / 1024;
}

/** What one watch received: checked as it arrives, not kept. */
interface WatchState {
  count: number;
  first: number;
  last: number;
  problems: string[];
}

test('10,000 watches on one key over 100 streams get every event in order, once, with bounded member memory', async (t) => {
  t.timeout(180_000);
  const node = await startNodeProcess({ args: ['--log-level', 'warn'] });
  t.teardown(() => node.cleanup());

  const connections: Client[] = [];
  const calls: ClientDuplexStream<WatchRequest, Buffer>[] = [];
  t.teardown(() => {
    for (const call of calls) call.cancel();
    for (const c of connections) c.close();
  });

  const watches = new Map<string, WatchState>();
  /** Revision -> value written at it, for checking a sample of the values. */
  const written = new Map<number, string>();
  let created = 0;
  let baseline = NaN;
  let onAllCreated: () => void = () => undefined;
  const allCreated = new Promise<void>((resolve) => (onAllCreated = resolve));
  const streamErrors: string[] = [];
  /** The revision every watch must reach, how many have, and what to call when all have. */
  let target = Infinity;
  let atTarget = 0;
  let onAllReached: () => void = () => undefined;

  for (let s = 0; s < STREAMS; s++) {
    if (s % STREAMS_PER_CONNECTION === 0) connections.push(new Client(node.address, credentials.createInsecure()));
    const call = openRawWatch(connections[connections.length - 1]!);
    calls.push(call);
    call.on('error', (err: Error) => streamErrors.push(`stream ${s}: ${err.message}`));
    call.on('data', (buf: Buffer) => {
      const r = parseWatchResponse(buf);
      const id = `${s}/${r.watchId}`;
      if (r.created) {
        created++;
        watches.set(id, { count: 0, first: 0, last: 0, problems: [] });
        if (created === WATCHES) onAllCreated();
        return;
      }
      const w = watches.get(id);
      if (w === undefined) return;
      if (r.canceled) w.problems.push('canceled');
      for (const e of r.events) {
        // Every revision is a put of the key: a watch sees them all, consecutively.
        if (w.last !== 0 && e.modRevision !== w.last + 1) w.problems.push(`revision ${e.modRevision} after ${w.last}`);
        if (r.watchId % 97 === 0 && written.has(e.modRevision) && e.value.toString('latin1') !== written.get(e.modRevision)) {
          w.problems.push(`wrong value at ${e.modRevision}`);
        }
        if (w.first === 0) w.first = e.modRevision;
        w.last = e.modRevision;
        w.count++;
        if (w.last === target) {
          atTarget++;
          if (atTarget === WATCHES) onAllReached();
        }
      }
    });
    for (let i = 0; i < WATCHES_PER_STREAM; i++) call.write(createRequest({ key: KEY }));
  }

  const kv = new KVServiceClient(node.address, credentials.createInsecure());
  t.teardown(() => kv.close());
  const put = (value: string): Promise<PutResponse> =>
    new Promise((resolve, reject) =>
      kv.put(PutRequest.fromPartial({ key: KEY, value: Buffer.from(value, 'latin1') }), (err, res) => (err ? reject(err) : resolve(res))),
    );
  const deliveredThrough = (revision: number, what: string): Promise<void> => {
    target = revision;
    atTarget = 0;
    for (const w of watches.values()) if (w.last >= revision) atTarget++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const behind = [...watches.values()].filter((w) => w.last < revision).length;
        const rss = `member RSS ${baseline.toFixed(0)} MB after the warm-up, ${rssMb(node.pid).toFixed(0)} MB now`;
        reject(new Error(`${what}: ${behind} of ${watches.size} watches short of revision ${revision} after ${DEADLINE_MS} ms; ${rss}`));
      }, DEADLINE_MS);
      onAllReached = () => {
        clearTimeout(timer);
        resolve();
      };
      if (atTarget === WATCHES) onAllReached();
    });
  };

  // Every create answered. Then a warm-up everyone receives, so that the memory measured
  // from here on is what the load adds, not code compiled and buffers pooled on first use.
  await Promise.race([
    allCreated,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`only ${created} of ${WATCHES} watches created after ${DEADLINE_MS} ms`)), DEADLINE_MS).unref(),
    ),
  ]);
  for (let i = 0; i < WARM_UP_PUTS; i++) written.set((await put(`warm-${i}`)).header!.revision, `warm-${i}`);
  const firstWatched = (await put('marker')).header!.revision;
  await deliveredThrough(firstWatched, 'the warm-up');
  baseline = rssMb(node.pid);

  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(node.pid))), 100);
  t.teardown(() => clearInterval(sampler));

  // Writers put as fast as the member acknowledges; the watches fall behind.
  const started = Date.now();
  let next = 0;
  let lastRevision = firstWatched;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < PUTS) {
        const value = `v${next++}-${'x'.repeat(32)}`;
        const res = await put(value);
        written.set(res.header!.revision, value);
        lastRevision = Math.max(lastRevision, res.header!.revision);
      }
    }),
  );
  const writeMs = Date.now() - started;
  await deliveredThrough(lastRevision, 'delivery');
  const deliverMs = Date.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(node.pid));

  t.log(
    `${PUTS} puts in ${writeMs} ms; all ${WATCHES * PUTS} events at every watch after ${deliverMs} ms; ` +
      `member RSS ${baseline.toFixed(0)} MB with the watches open, peak ${peak.toFixed(0)} MB (+${(peak - baseline).toFixed(0)} MB)`,
  );
  t.deepEqual(streamErrors, []);
  const problems = [...watches].filter(([, w]) => w.problems.length > 0).map(([id, w]) => `${id}: ${w.problems.slice(0, 3).join('; ')}`);
  t.deepEqual(problems.slice(0, 10), [], `${problems.length} watches saw gaps, duplicates or reordering`);
  t.is(watches.size, WATCHES);
  // Each watch has every revision from its first one (before the warm-up marker) to the last write.
  const incomplete = [...watches]
    .filter(([, w]) => w.first === 0 || w.first > firstWatched || w.last !== lastRevision || w.count !== w.last - w.first + 1)
    .map(([id, w]) => `${id}: ${w.count} events from ${w.first} to ${w.last}`);
  t.deepEqual(incomplete.slice(0, 10), [], `${incomplete.length} watches incomplete (last write at ${lastRevision})`);
  t.true(peak - baseline < RSS_GROWTH_BOUND_MB, `member RSS grew by ${(peak - baseline).toFixed(0)} MB (bound ${RSS_GROWTH_BOUND_MB} MB)`);
});
