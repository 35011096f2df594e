// WatchService over gRPC, end to end in-process, on both storage engines: key, range and
// prefix watches sharing one stream, history replay joining live events, prev_kv, filters,
// cancel, progress (requested and periodic), compaction, the per-stream watch limit.
import test from 'ava';
import { Event_EventType, type Event } from '../../gen/ts/cairn/v1/types.js';
import { WatchCreateRequest_FilterType as Filter, type WatchResponse } from '../../gen/ts/cairn/v1/watch.js';
import { b, ENGINE_NAMES, s, startApiNode, status, statusName, summarize, waitUntil, type WatchSession } from '../helpers/grpc-clients.js';

const PUT = Event_EventType.EVENT_TYPE_PUT;
const show = (e: Event): string =>
  `${e.type === PUT ? 'PUT' : 'DEL'} ${s(e.kv?.key)}${e.type === PUT ? '=' + s(e.kv?.value) : ''}@${e.kv?.modRevision}`;

/**
 * Checks the ordering contract on one watch's responses: revisions strictly increase from
 * one response to the next and within a response (no duplicates, no reordering), and all
 * events of a revision are in one response (a response may hold several revisions, as in
 * etcd). Returns the revisions seen.
 */
function checkOrdered(responses: WatchResponse[]): { ok: boolean; why: string; revisions: number[] } {
  const revisions: number[] = [];
  for (const r of responses) {
    if (r.events.length === 0) return { ok: false, why: 'a response without events', revisions };
    let previous = revisions.length > 0 ? revisions[revisions.length - 1]! : 0;
    const first = r.events[0]!.kv!.modRevision;
    if (first <= previous) return { ok: false, why: `revision ${first} after ${previous} (split or repeated)`, revisions };
    for (const e of r.events) {
      const rev = e.kv!.modRevision;
      if (rev === previous) continue;
      if (rev < previous) return { ok: false, why: `revision ${rev} after ${previous} in one response`, revisions };
      revisions.push(rev);
      previous = rev;
    }
  }
  return { ok: true, why: '', revisions };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const engine of ENGINE_NAMES) {
  test(`${engine}: one stream carries key, range, prefix and from-key watches, each seeing only its keys`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('before', 'x'); // 2: before any watch; never delivered
    const w = openWatch();
    const createdReply = await w.createRaw({ key: b('w/a') });
    t.is(createdReply.header!.revision, 2, 'the created reply names the revision the watch starts after');
    const key = createdReply.watchId;
    const rng = await w.create({ key: b('w/b'), rangeEnd: b('w/d') });
    const prefix = await w.create({ key: b('w/'), rangeEnd: b('w0') });
    const fromKey = await w.create({ key: b('w/c'), rangeEnd: b('\0') });
    t.is(new Set([key, rng, prefix, fromKey]).size, 4, 'distinct watch ids');

    for (const k of ['w/a', 'w/b', 'w/c', 'w/d', 'x']) await kv.set(k, 'v'); // 3..7
    await kv.deleteRange({ key: b('w/a') }); // 8
    await w.waitForEvents(prefix, 5);
    await w.waitForEvents(fromKey, 3);
    // A later write to a key every watch sees marks the end of delivery for all of them.
    await kv.set('w/c', 'end'); // 9
    await w.waitForEvents(key, 2);
    await w.waitForEvents(rng, 3);
    await w.waitForEvents(prefix, 6);
    await w.waitForEvents(fromKey, 4);

    t.deepEqual(w.events(key).map(show), ['PUT w/a=v@3', 'DEL w/a@8']);
    t.deepEqual(w.events(rng).map(show), ['PUT w/b=v@4', 'PUT w/c=v@5', 'PUT w/c=end@9']);
    t.deepEqual(w.events(prefix).map(show), ['PUT w/a=v@3', 'PUT w/b=v@4', 'PUT w/c=v@5', 'PUT w/d=v@6', 'DEL w/a@8', 'PUT w/c=end@9']);
    t.deepEqual(w.events(fromKey).map(show), ['PUT w/c=v@5', 'PUT w/d=v@6', 'PUT x=v@7', 'PUT w/c=end@9']);
    const put2 = w.events(key)[0]!;
    t.like(put2.kv, { createRevision: 3, version: 1 });
    t.is(put2.prevKv, undefined, 'no prev_kv unless asked');
    t.like(w.events(key)[1]!.kv, { modRevision: 8, version: 0 });
    t.is(w.error, undefined);
  });

  test(`${engine}: start_revision replays history, then follows live writes without gaps or duplicates`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    for (let i = 1; i <= 50; i++) await kv.set(`h/${i % 7}`, `v${i}`); // 2..51
    await kv.deleteRange({ key: b('h/3') }); // 52
    await kv.set('elsewhere', 'x'); // 53: not watched

    // Writers keep going while watches from the past catch up and switch to live events.
    let stop = false;
    let written = 53;
    const writer = (async () => {
      while (!stop) written = (await kv.set(`h/${written % 7}`, `live${written}`)).header!.revision;
    })();
    const w = openWatch();
    const fromStart = await w.create({ key: b('h/'), rangeEnd: b('h0'), startRevision: 1 });
    const fromMiddle = await w.create({ key: b('h/'), rangeEnd: b('h0'), startRevision: 31 });
    await waitUntil(() => written >= 120, 30_000, 'the writer to reach revision 120');
    stop = true;
    await writer;
    const last = written;

    const expected = range(2, last).filter((r) => r !== 53);
    await w.waitForEvents(fromStart, expected.length, 30_000);
    await w.waitForEvents(fromMiddle, expected.filter((r) => r >= 31).length, 30_000);
    for (const [id, from] of [
      [fromStart, 1],
      [fromMiddle, 31],
    ] as const) {
      const check = checkOrdered(w.eventResponses(id));
      t.true(check.ok, `watch from ${from}: ${check.why}; ${summarize(w.eventResponses(id))}`);
      t.deepEqual(
        check.revisions,
        expected.filter((r) => r >= from),
        `watch from ${from} sees every revision once, in order`,
      );
    }
    const events = w.events(fromStart);
    t.is(show(events[0]!), 'PUT h/1=v1@2');
    t.is(show(events[50]!), 'DEL h/3@52');
    t.like(events[48]!.kv, { version: 7 }, 'replayed events carry their versions');

    // Nothing more arrives after the last write (no duplicates at the end either).
    await kv.set('h/end', 'x');
    await w.waitForEvents(fromStart, expected.length + 1);
    t.is(w.events(fromStart).length, expected.length + 1);
  });

  test(`${engine}: a start_revision in the future delivers from that revision on`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('f', '1'); // 2
    const w = openWatch();
    const id = await w.create({ key: b('f'), startRevision: 5 });
    for (let i = 2; i <= 5; i++) await kv.set('f', String(i)); // 3..6
    await w.waitForEvents(id, 2);
    await kv.set('f', '6');
    await w.waitForEvents(id, 3);
    t.deepEqual(w.events(id).map(show), ['PUT f=4@5', 'PUT f=5@6', 'PUT f=6@7']);
  });

  test(`${engine}: prev_kv on live and replayed events, only for the watch that asked`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('p', 'one'); // 2
    const w = openWatch();
    const withPrev = await w.create({ key: b('p'), prevKv: true });
    const without = await w.create({ key: b('p') });
    await kv.set('p', 'two'); // 3
    await kv.deleteRange({ key: b('p') }); // 4
    await kv.set('p', 'three'); // 5
    await w.waitForEvents(withPrev, 3);
    await w.waitForEvents(without, 3);
    const prevs = w.events(withPrev).map((e) => (e.prevKv === undefined ? null : `${s(e.prevKv.value)}@${e.prevKv.modRevision}`));
    t.deepEqual(prevs, ['one@2', 'two@3', null], 'a put after a delete has no previous version');
    t.like(w.events(withPrev)[1]!.prevKv, { version: 2, createRevision: 2 });
    t.true(
      w.events(without).every((e) => e.prevKv === undefined),
      'the other watch gets no prev_kv',
    );

    // Replayed from storage, prev_kv comes from history.
    const replay = await w.create({ key: b('p'), startRevision: 1, prevKv: true });
    await w.waitForEvents(replay, 4);
    t.deepEqual(
      w.events(replay).map((e) => `${show(e)} prev=${e.prevKv === undefined ? '-' : s(e.prevKv.value)}`),
      ['PUT p=one@2 prev=-', 'PUT p=two@3 prev=one', 'DEL p@4 prev=two', 'PUT p=three@5 prev=-'],
    );
  });

  test(`${engine}: NOPUT and NODELETE filters drop those events`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    const w = openWatch();
    const noPut = await w.create({ key: b('f/'), rangeEnd: b('f0'), filters: [Filter.FILTER_TYPE_NOPUT] });
    const noDelete = await w.create({ key: b('f/'), rangeEnd: b('f0'), filters: [Filter.FILTER_TYPE_NODELETE] });
    const both = await w.create({ key: b('f/'), rangeEnd: b('f0'), filters: [Filter.FILTER_TYPE_NOPUT, Filter.FILTER_TYPE_NODELETE] });
    const all = await w.create({ key: b('f/'), rangeEnd: b('f0') });
    await kv.set('f/a', '1'); // 2
    await kv.set('f/b', '1'); // 3
    await kv.deleteRange({ key: b('f/'), rangeEnd: b('f0') }); // 4: both keys
    await kv.set('f/a', '2'); // 5
    await w.waitForEvents(all, 5);
    await w.waitForEvents(noPut, 2);
    await w.waitForEvents(noDelete, 3);
    t.deepEqual(w.events(noPut).map(show), ['DEL f/a@4', 'DEL f/b@4']);
    t.deepEqual(w.events(noDelete).map(show), ['PUT f/a=1@2', 'PUT f/b=1@3', 'PUT f/a=2@5']);
    t.deepEqual(w.events(both), []);
    t.is(w.eventResponses(noPut).length, 1, 'the two deletes of one revision arrive in one response');
  });

  test(`${engine}: a txn touching several watched keys arrives as one response`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('t/gone', 'x'); // 2
    const w = openWatch();
    const id = await w.create({ key: b('t/'), rangeEnd: b('t0') });
    const withPrev = await w.create({ key: b('t/a'), prevKv: true });
    const res = await kv.txn({
      success: [
        { request: { $case: 'requestPut', requestPut: { key: b('t/a'), value: b('1') } } },
        { request: { $case: 'requestPut', requestPut: { key: b('unwatched'), value: b('1') } } },
        { request: { $case: 'requestDeleteRange', requestDeleteRange: { key: b('t/gone') } } },
        { request: { $case: 'requestPut', requestPut: { key: b('t/b'), value: b('2') } } },
        { request: { $case: 'requestPut', requestPut: { key: b('t/a'), value: b('3') } } },
      ],
    });
    t.is(res.header!.revision, 3);
    await w.waitForEvents(id, 4);
    const responses = w.eventResponses(id);
    t.is(responses.length, 1, summarize(responses));
    t.false(responses[0]!.fragment);
    t.is(responses[0]!.header!.revision, 3);
    t.deepEqual(
      responses[0]!.events.map(show),
      ['PUT t/a=1@3', 'DEL t/gone@3', 'PUT t/b=2@3', 'PUT t/a=3@3'],
      'in the order the txn made them',
    );
    // The second put of t/a in the txn sees the first as its previous version.
    await w.waitForEvents(withPrev, 2);
    t.deepEqual(
      w.events(withPrev).map((e) => `${show(e)} v${e.kv!.version} prev=${e.prevKv === undefined ? '-' : s(e.prevKv.value)}`),
      ['PUT t/a=1@3 v1 prev=-', 'PUT t/a=3@3 v2 prev=1'],
    );
    t.is(w.eventResponses(withPrev).length, 1);
  });

  test(`${engine}: cancel ends one watch; the others on the stream go on`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    const w = openWatch();
    const a = await w.create({ key: b('c/'), rangeEnd: b('c0') });
    const other = await w.create({ key: b('c/'), rangeEnd: b('c0') });
    await kv.set('c/1', 'x'); // 2
    await w.waitForEvents(a, 1);
    w.cancel(a);
    const canceled = await w.waitFor((r) => r.watchId === a && r.canceled, `a canceled reply for watch ${a}`);
    t.false(canceled.created);
    t.regex(canceled.cancelReason, /canceled by the client/);
    await kv.set('c/2', 'y'); // 3
    await w.waitForEvents(other, 2);
    t.deepEqual(w.events(a).map(show), ['PUT c/1=x@2'], 'nothing after the cancel');
    // Its id is free again, and a new watch on the stream works.
    const again = await w.create({ key: b('c/2'), watchId: a });
    t.is(again, a);
    await kv.set('c/2', 'z'); // 4
    await w.waitForEvents(a, 2);
    t.is(show(w.events(a)[1]!), 'PUT c/2=z@4');
    // Canceling an unknown watch is harmless.
    w.cancel(999);
    await kv.set('c/3', 'q');
    await w.waitForEvents(other, 4);
    t.is(w.error, undefined);
  });

  test(`${engine}: progress_request answers with watch_id -1 and never claims more than was delivered`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('g/0', 'x'); // 2
    const w = openWatch();
    const id = await w.create({ key: b('g/'), rangeEnd: b('g0') });
    await kv.set('unwatched', 'x'); // 3
    w.requestProgress();
    const quiet = await w.waitFor((r) => r.watchId === -1, 'a progress reply');
    t.is(quiet.header!.revision, 3, 'an idle watch is up to date with the store');
    t.deepEqual(quiet.events, []);
    t.false(quiet.created || quiet.canceled);

    // Under writes in flight, every progress reply comes after every event at or below it.
    // Each request is sent while a write is in flight, and the next only once that write is
    // acknowledged: 30 requests interleave with 30 writes however busy the machine is.
    let written = 3;
    for (let i = 0; i < 30; i++) {
      const put = kv.set(`g/${i % 5}`, 'v'.repeat(100));
      w.requestProgress();
      written = (await put).header!.revision;
    }
    await waitUntil(() => w.responses.filter((r) => r.watchId === -1).length >= 31, 60_000, 'all progress replies');
    let seen = 3;
    let checked = 0;
    for (const r of w.responses) {
      if (r.watchId === id) seen = Math.max(seen, ...r.events.map((e) => e.kv!.modRevision));
      if (r.watchId === -1) {
        // Every revision after 3 touches the watched prefix, so delivered == seen.
        t.true(
          r.header!.revision <= seen,
          `progress at ${r.header!.revision} before the events up to it arrived (delivered through ${seen})`,
        );
        checked++;
      }
    }
    t.is(checked, 31);
    t.is(written, 33, 'a write was in flight at each progress request');
  });

  test(`${engine}: watch from a compacted revision is created, then canceled with compact_revision; the stream goes on`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    for (let i = 1; i <= 6; i++) await kv.set('k', String(i));
    // Physical, so that replay from the compacted revision reads what storage kept.
    await kv.compact({ revision: 6, physical: true });
    const w = openWatch();
    const created = await w.createRaw({ key: b('k'), startRevision: 3 });
    t.true(created.created);
    const canceled = await w.waitFor((r) => r.watchId === created.watchId && r.canceled, 'the compacted watch to be canceled');
    t.is(canceled.compactRevision, 6);
    t.regex(canceled.cancelReason, /revision 3 has been compacted; the oldest available revision is 6/);
    t.deepEqual(w.events(created.watchId), []);

    // From the compacted revision itself is fine, including a delete at exactly that revision.
    const ok = await w.create({ key: b('k'), startRevision: 6 });
    await w.waitForEvents(ok, 2);
    t.deepEqual(w.events(ok).map(show), ['PUT k=5@6', 'PUT k=6@7']);
    await kv.set('k', '7');
    await w.waitForEvents(ok, 3);
    t.is(w.error, undefined);
  });

  test(`${engine}: bad creates and the per-stream limit cancel only that watch, with a reason`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine, { limits: { maxWatchesPerStream: 2 } });
    const w = openWatch();
    const empty = await w.createRaw({ key: b('') });
    t.true(empty.created && empty.canceled);
    t.regex(empty.cancelReason, /key is empty/);
    const negative = await w.createRaw({ key: b('x'), startRevision: -3 });
    t.true(negative.created && negative.canceled);
    t.regex(negative.cancelReason, /start_revision is -3; use 0 \(now\) or a positive revision/);
    const badFilter = await w.createRaw({ key: b('x'), filters: [7 as Filter] });
    t.true(badFilter.canceled);
    t.regex(badFilter.cancelReason, /filter 7 is not NOPUT or NODELETE/);

    const first = await w.create({ key: b('l/'), rangeEnd: b('l0') });
    const duplicate = await w.createRaw({ key: b('l/a'), watchId: first });
    t.true(duplicate.canceled);
    t.regex(duplicate.cancelReason, new RegExp(`watch id ${first} is already in use on this stream`));
    const second = await w.create({ key: b('l/a') });
    const third = await w.createRaw({ key: b('l/a') });
    t.true(third.created && third.canceled, 'over the limit: created and canceled at once');
    t.regex(third.cancelReason, /this stream already has 2 watches; the limit is 2 \(--max-watches-per-stream\)/);

    // The stream and its watches keep working; the refused watch gets nothing.
    await kv.set('l/a', '1');
    await w.waitForEvents(first, 1);
    await w.waitForEvents(second, 1);
    t.false([first, second].includes(third.watchId), 'the refused watch has an id of its own');
    t.deepEqual(w.events(third.watchId), []);
    // Another stream has its own allowance.
    const w2 = openWatch();
    await w2.create({ key: b('l/a') });
    await w2.create({ key: b('l/b') });
    // After a cancel there is room again.
    w.cancel(second);
    await w.waitFor((r) => r.watchId === second && r.canceled, 'the cancel');
    const fourth = await w.create({ key: b('l/b') });
    await kv.set('l/b', '2');
    await w.waitForEvents(fourth, 1);
    t.is(w.error, undefined);
  });

  test(`${engine}: progress_notify sends periodic progress on idle watches that asked for it`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine, { watchProgressIntervalMs: 100 });
    await kv.set('n', '1'); // 2
    const w = openWatch();
    const notified = await w.create({ key: b('n'), progressNotify: true });
    const silent = await w.create({ key: b('n') });
    const isProgress = (r: WatchResponse) => r.watchId === notified && r.events.length === 0 && !r.created && !r.canceled;
    await kv.set('other', '1'); // 3
    // Notifications may have come during the write; wait for two that follow it.
    const already = w.responses.length;
    await waitUntil(
      () => w.responses.slice(already).filter(isProgress).length >= 2,
      30_000,
      () => `two progress notifications; got ${summarize(w.responses)}`,
    );
    const notes = w.responses.slice(already).filter(isProgress);
    t.deepEqual(
      notes.map((r) => r.header!.revision),
      [3, 3],
      'they name the current revision',
    );
    t.deepEqual(
      w.responses.filter((r) => r.watchId === silent && !r.created),
      [],
      'a watch that did not ask gets no notifications',
    );

    // A notification never precedes events at or below its revision.
    await kv.set('n', '2'); // 4
    await w.waitForEvents(notified, 1);
    await waitUntil(() => w.responses.filter(isProgress).some((r) => r.header!.revision >= 4), 30_000, 'a notification after the write');
    let delivered = 0;
    for (const r of w.responses) {
      if (r.watchId !== notified) continue;
      for (const e of r.events) delivered = Math.max(delivered, e.kv!.modRevision);
      if (isProgress(r) && r.header!.revision >= 4) t.true(delivered >= 4, 'the event at 4 came first');
    }
  });

  test(`${engine}: fragment splits a revision too large for one message; without it the revision stays whole`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine, { limits: { maxRequestBytes: 1024 } });
    for (const k of ['a', 'b', 'c', 'd']) await kv.set(`fr/${k}`, 'x'.repeat(600)); // 2..5
    const w = openWatch();
    const fragmented = await w.create({ key: b('fr/'), rangeEnd: b('fr0'), prevKv: true, fragment: true });
    const whole = await w.create({ key: b('fr/'), rangeEnd: b('fr0'), prevKv: true });
    // One revision of four deletes, each carrying a 600-byte prev_kv: over 1024 bytes together.
    await kv.deleteRange({ key: b('fr/'), rangeEnd: b('fr0') }); // 6
    await w.waitForEvents(fragmented, 4);
    await w.waitForEvents(whole, 4);
    const parts = w.eventResponses(fragmented);
    t.true(parts.length > 1, summarize(parts));
    t.deepEqual(
      parts.map((r) => r.fragment),
      [...parts.slice(1).map(() => true), false],
      'every part but the last is marked fragment',
    );
    t.deepEqual(parts.flatMap((r) => r.events).map(show), ['DEL fr/a@6', 'DEL fr/b@6', 'DEL fr/c@6', 'DEL fr/d@6']);
    t.true(parts.flatMap((r) => r.events).every((e) => e.prevKv?.value.length === 600));
    const single = w.eventResponses(whole);
    t.is(single.length, 1);
    t.false(single[0]!.fragment);
    t.is(single[0]!.events.length, 4);
  });

  test(`${engine}: streams over the node's limit are refused with RESOURCE_EXHAUSTED; closing one frees its place`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine, { limits: { maxWatchStreams: 2 } });
    const first = openWatch({ ownChannel: true });
    const second = openWatch({ ownChannel: true });
    await first.create({ key: b('a') });
    const secondId = await second.create({ key: b('a') });
    const third = openWatch({ ownChannel: true });
    third.send({ request: { $case: 'progressRequest', progressRequest: {} } });
    await waitUntil(
      () => third.error !== undefined,
      30_000,
      () => `the third stream to be refused; got ${summarize(third.responses)}`,
    );
    t.is(third.error!.code, status.RESOURCE_EXHAUSTED, statusName(third.error!.code));
    t.regex(third.error!.details, /the node already serves 2 watch streams; the limit is 2 \(--max-watch-streams\)/);

    // Closing a stream (client cancel) frees its place.
    first.close();
    let fourth: WatchSession | undefined;
    let id = 0;
    await waitUntil(
      () => {
        if (fourth?.error !== undefined) fourth = undefined; // refused: the cancel was not seen yet; try again
        if (fourth === undefined) {
          fourth = openWatch({ ownChannel: true });
          void fourth.create({ key: b('a') }).then(
            (n) => (id = n),
            () => undefined,
          );
        }
        return id !== 0;
      },
      30_000,
      'a new stream to be accepted after one was closed',
    );
    await kv.set('a', '1');
    await fourth!.waitForEvents(id, 1);
    await second.waitForEvents(secondId, 1);
  });

  test(`${engine}: progress requested while a watch replays history never runs ahead of its events`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine, { limits: { watchCatchUpBatchEvents: 10, maxWatcherBufferEvents: 16 } });
    for (let i = 1; i <= 300; i++) await kv.set(`r/${i % 10}`, `v${i}`); // 2..301, all under r/
    const w = openWatch();
    const live = await w.create({ key: b('r/'), rangeEnd: b('r0') });
    const replay = await w.create({ key: b('r/'), rangeEnd: b('r0'), startRevision: 1 });
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      w.requestProgress();
      if (i % 10 === 0) writes.push(kv.set(`r/${i}`, 'live'));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    await waitUntil(() => w.responses.filter((r) => r.watchId === -1).length >= 40, 30_000, 'every progress reply');
    await w.waitForEvents(replay, 304, 30_000);
    // Every revision touches r/, so a reply at R must follow the replaying watch's events up to R.
    let replayed = 1; // revision 1, the empty store's, has no events to wait for
    let checked = 0;
    for (const r of w.responses) {
      if (r.watchId === replay) replayed = Math.max(replayed, ...r.events.map((e) => e.kv!.modRevision));
      if (r.watchId === -1) {
        checked++;
        t.true(r.header!.revision <= replayed, `progress at ${r.header!.revision} while the replay had delivered through ${replayed}`);
      }
    }
    t.is(checked, 40);
    const check = checkOrdered(w.eventResponses(replay));
    t.true(check.ok, check.why);
    t.deepEqual(check.revisions, range(2, 305));
    t.deepEqual(
      w.events(live).map((e) => e.kv!.modRevision),
      [302, 303, 304, 305],
    );
  });

  test(`${engine}: a watcher left behind by a compaction is canceled with compact_revision, never given a gap`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine, { limits: { maxWatcherBufferEvents: 8, watchCatchUpBatchEvents: 8 } });
    const w = openWatch({ ownChannel: true });
    const id = await w.create({ key: b('z/'), rangeEnd: b('z0') });
    w.call.pause(); // stops reading: the server soon stops feeding it live
    const value = Buffer.alloc(2048, 0x7a);
    for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 25 }, (_, j) => kv.put({ key: b(`z/${j}`), value }))); // 500 revisions
    const compactAt = await kv.revision();
    await kv.compact({ revision: compactAt, physical: true });
    await kv.set('z/after', 'x');
    w.call.resume();

    const canceled = await w
      .waitFor((r) => r.watchId === id && r.canceled, 'the lagging watch to be canceled', 30_000)
      .catch(() => undefined);
    const revisions = w.events(id).map((e) => e.kv!.modRevision);
    t.log(
      `received ${revisions.length} events; ${canceled ? `canceled with compact_revision ${canceled.compactRevision}` : 'not canceled'}`,
    );
    t.deepEqual(revisions, range(2, revisions.length + 1), 'the events it did get are contiguous from the first write (2)');
    if (canceled === undefined) {
      // It was never far enough behind to lose history: then it must have everything.
      t.is(revisions.length, compactAt, 'revisions 2 to compactAt + 1');
    } else {
      t.is(canceled.compactRevision, compactAt);
      t.true(revisions.length + 2 < compactAt, `canceled although it had reached ${revisions.length}`);
      t.regex(
        canceled.cancelReason,
        new RegExp(`revision ${revisions.length + 2} has been compacted; the oldest available revision is ${compactAt}`),
      );
      t.is(w.responses[w.responses.length - 1], canceled, 'nothing after the cancel');
    }
    t.is(w.error, undefined);
  });

  test(`${engine}: after a physical compaction a watch from the compacted revision still sees a delete made at it`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('d/k', '1'); // 2
    await kv.set('d/j', '1'); // 3
    await kv.deleteRange({ key: b('d/k') }); // 4
    await kv.set('d/j', '2'); // 5
    await kv.compact({ revision: 4, physical: true });
    const w = openWatch();
    const id = await w.create({ key: b('d/'), rangeEnd: b('d0'), startRevision: 4, prevKv: true });
    await w.waitForEvents(id, 2);
    t.deepEqual(w.events(id).map(show), ['DEL d/k@4', 'PUT d/j=2@5']);
    // prev_kv of the put at 5 is the version kept by compaction (the latest at or before 4).
    t.is(s(w.events(id)[1]!.prevKv?.value), '1');
    t.deepEqual(
      w.responses.filter((r) => r.canceled),
      [],
    );
  });
}
