// WatchService over gRPC, end to end in-process, on both storage engines: key, range and
// prefix watches sharing one stream, history replay joining live events, prev_kv, filters,
// cancel, progress (requested and periodic), compaction, the per-stream watch limit.
import test from 'ava';
import { Event_EventType, type Event } from '../../gen/ts/cairn/v1/types.js';
import { WatchCreateRequest_FilterType as Filter, type WatchResponse } from '../../gen/ts/cairn/v1/watch.js';
import { b, ENGINE_NAMES, s, startApiNode, summarize, waitUntil } from '../helpers/grpc-clients.js';

const PUT = Event_EventType.EVENT_TYPE_PUT;
const DELETE = Event_EventType.EVENT_TYPE_DELETE;
const show = (e: Event): string => `${e.type === PUT ? 'PUT' : 'DEL'} ${s(e.kv?.key)}${e.type === PUT ? '=' + s(e.kv?.value) : ''}@${e.kv?.modRevision}`;

/**
 * Checks the ordering contract on one watch's responses: revisions strictly increase from
 * one response to the next (no duplicates, no reordering), and every response holds the
 * events of exactly one revision. Returns the revisions seen.
 */
function checkOrdered(responses: WatchResponse[]): { ok: boolean; why: string; revisions: number[] } {
  const revisions: number[] = [];
  for (const r of responses) {
    const revs = new Set(r.events.map((e) => e.kv!.modRevision));
    if (revs.size !== 1) return { ok: false, why: `a response mixes revisions ${[...revs].join(',')}`, revisions };
    const [rev] = revs;
    if (revisions.length > 0 && rev! <= revisions[revisions.length - 1]!) return { ok: false, why: `revision ${rev} after ${revisions[revisions.length - 1]}`, revisions };
    revisions.push(rev!);
  }
  return { ok: true, why: '', revisions };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const engine of ENGINE_NAMES) {
  test(`${engine}: one stream carries key, range, prefix and from-key watches, each seeing only its keys`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('before', 'x'); // 1: before any watch; never delivered
    const w = openWatch();
    const key = await w.create({ key: b('w/a') });
    const rng = await w.create({ key: b('w/b'), rangeEnd: b('w/d') });
    const prefix = await w.create({ key: b('w/'), rangeEnd: b('w0') });
    const fromKey = await w.create({ key: b('w/c'), rangeEnd: b('\0') });
    t.is(new Set([key, rng, prefix, fromKey]).size, 4, 'distinct watch ids');

    for (const k of ['w/a', 'w/b', 'w/c', 'w/d', 'x']) await kv.set(k, 'v'); // 2..6
    await kv.deleteRange({ key: b('w/a') }); // 7
    await w.waitForEvents(prefix, 5);
    await w.waitForEvents(fromKey, 3);
    // A later write to a key every watch sees marks the end of delivery for all of them.
    await kv.set('w/c', 'end'); // 8
    await w.waitForEvents(key, 2);
    await w.waitForEvents(rng, 3);
    await w.waitForEvents(prefix, 6);
    await w.waitForEvents(fromKey, 4);

    t.deepEqual(w.events(key).map(show), ['PUT w/a=v@2', 'DEL w/a@7']);
    t.deepEqual(w.events(rng).map(show), ['PUT w/b=v@3', 'PUT w/c=v@4', 'PUT w/c=end@8']);
    t.deepEqual(w.events(prefix).map(show), ['PUT w/a=v@2', 'PUT w/b=v@3', 'PUT w/c=v@4', 'PUT w/d=v@5', 'DEL w/a@7', 'PUT w/c=end@8']);
    t.deepEqual(w.events(fromKey).map(show), ['PUT w/c=v@4', 'PUT w/d=v@5', 'PUT x=v@6', 'PUT w/c=end@8']);
    const put2 = w.events(key)[0]!;
    t.like(put2.kv, { createRevision: 2, version: 1 });
    t.is(put2.prevKv, undefined, 'no prev_kv unless asked');
    t.like(w.events(key)[1]!.kv, { modRevision: 7, version: 0 });
    t.is(w.error, undefined);
  });

  test(`${engine}: start_revision replays history, then follows live writes without gaps or duplicates`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    for (let i = 1; i <= 50; i++) await kv.set(`h/${i % 7}`, `v${i}`); // 1..50
    await kv.deleteRange({ key: b('h/3') }); // 51
    await kv.set('elsewhere', 'x'); // 52: not watched

    // Writers keep going while watches from the past catch up and switch to live events.
    let stop = false;
    let written = 52;
    const writer = (async () => {
      while (!stop) written = (await kv.set(`h/${written % 7}`, `live${written}`)).header!.revision;
    })();
    const w = openWatch();
    const fromStart = await w.create({ key: b('h/'), rangeEnd: b('h0'), startRevision: 1 });
    const fromMiddle = await w.create({ key: b('h/'), rangeEnd: b('h0'), startRevision: 30 });
    await waitUntil(() => written >= 120, 10_000, 'the writer to reach revision 120');
    stop = true;
    await writer;
    const last = written;

    const expected = range(1, last).filter((r) => r !== 52);
    await w.waitForEvents(fromStart, expected.length, 10_000);
    await w.waitForEvents(fromMiddle, expected.filter((r) => r >= 30).length, 10_000);
    for (const [id, from] of [
      [fromStart, 1],
      [fromMiddle, 30],
    ] as const) {
      const check = checkOrdered(w.eventResponses(id));
      t.true(check.ok, `watch from ${from}: ${check.why}; ${summarize(w.eventResponses(id))}`);
      t.deepEqual(check.revisions, expected.filter((r) => r >= from), `watch from ${from} sees every revision once, in order`);
    }
    const events = w.events(fromStart);
    t.is(show(events[0]!), 'PUT h/1=v1@1');
    t.is(show(events[50]!), 'DEL h/3@51');
    t.like(events[48]!.kv, { version: 7 }, 'replayed events carry their versions');

    // Nothing more arrives after the last write (no duplicates at the end either).
    await kv.set('h/end', 'x');
    await w.waitForEvents(fromStart, expected.length + 1);
    t.is(w.events(fromStart).length, expected.length + 1);
  });

  test(`${engine}: a start_revision in the future delivers from that revision on`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('f', '1'); // 1
    const w = openWatch();
    const id = await w.create({ key: b('f'), startRevision: 4 });
    for (let i = 2; i <= 5; i++) await kv.set('f', String(i)); // 2..5
    await w.waitForEvents(id, 2);
    await kv.set('f', '6');
    await w.waitForEvents(id, 3);
    t.deepEqual(w.events(id).map(show), ['PUT f=4@4', 'PUT f=5@5', 'PUT f=6@6']);
  });

  test(`${engine}: prev_kv on live and replayed events, only for the watch that asked`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('p', 'one'); // 1
    const w = openWatch();
    const withPrev = await w.create({ key: b('p'), prevKv: true });
    const without = await w.create({ key: b('p') });
    await kv.set('p', 'two'); // 2
    await kv.deleteRange({ key: b('p') }); // 3
    await kv.set('p', 'three'); // 4
    await w.waitForEvents(withPrev, 3);
    await w.waitForEvents(without, 3);
    const prevs = w.events(withPrev).map((e) => (e.prevKv === undefined ? null : `${s(e.prevKv.value)}@${e.prevKv.modRevision}`));
    t.deepEqual(prevs, ['one@1', 'two@2', null], 'a put after a delete has no previous version');
    t.like(w.events(withPrev)[1]!.prevKv, { version: 2, createRevision: 1 });
    t.true(w.events(without).every((e) => e.prevKv === undefined), 'the other watch gets no prev_kv');

    // Replayed from storage, prev_kv comes from history.
    const replay = await w.create({ key: b('p'), startRevision: 1, prevKv: true });
    await w.waitForEvents(replay, 4);
    t.deepEqual(
      w.events(replay).map((e) => `${show(e)} prev=${e.prevKv === undefined ? '-' : s(e.prevKv.value)}`),
      ['PUT p=one@1 prev=-', 'PUT p=two@2 prev=one', 'DEL p@3 prev=two', 'PUT p=three@4 prev=-'],
    );
  });

  test(`${engine}: NOPUT and NODELETE filters drop those events`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    const w = openWatch();
    const noPut = await w.create({ key: b('f/'), rangeEnd: b('f0'), filters: [Filter.FILTER_TYPE_NOPUT] });
    const noDelete = await w.create({ key: b('f/'), rangeEnd: b('f0'), filters: [Filter.FILTER_TYPE_NODELETE] });
    const both = await w.create({ key: b('f/'), rangeEnd: b('f0'), filters: [Filter.FILTER_TYPE_NOPUT, Filter.FILTER_TYPE_NODELETE] });
    const all = await w.create({ key: b('f/'), rangeEnd: b('f0') });
    await kv.set('f/a', '1'); // 1
    await kv.set('f/b', '1'); // 2
    await kv.deleteRange({ key: b('f/'), rangeEnd: b('f0') }); // 3: both keys
    await kv.set('f/a', '2'); // 4
    await w.waitForEvents(all, 5);
    await w.waitForEvents(noPut, 2);
    await w.waitForEvents(noDelete, 3);
    t.deepEqual(w.events(noPut).map(show), ['DEL f/a@3', 'DEL f/b@3']);
    t.deepEqual(w.events(noDelete).map(show), ['PUT f/a=1@1', 'PUT f/b=1@2', 'PUT f/a=2@4']);
    t.deepEqual(w.events(both), []);
    t.is(w.eventResponses(noPut).length, 1, 'the two deletes of one revision arrive in one response');
  });

  test(`${engine}: a txn touching several watched keys arrives as one response`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('t/gone', 'x'); // 1
    const w = openWatch();
    const id = await w.create({ key: b('t/'), rangeEnd: b('t0') });
    const res = await kv.txn({
      success: [
        { request: { $case: 'requestPut', requestPut: { key: b('t/a'), value: b('1') } } },
        { request: { $case: 'requestPut', requestPut: { key: b('unwatched'), value: b('1') } } },
        { request: { $case: 'requestDeleteRange', requestDeleteRange: { key: b('t/gone') } } },
        { request: { $case: 'requestPut', requestPut: { key: b('t/b'), value: b('2') } } },
        { request: { $case: 'requestPut', requestPut: { key: b('t/a'), value: b('3') } } },
      ],
    });
    t.is(res.header!.revision, 2);
    await w.waitForEvents(id, 4);
    const responses = w.eventResponses(id);
    t.is(responses.length, 1, summarize(responses));
    t.false(responses[0]!.fragment);
    t.is(responses[0]!.header!.revision, 2);
    t.deepEqual(responses[0]!.events.map(show), ['PUT t/a=1@2', 'DEL t/gone@2', 'PUT t/b=2@2', 'PUT t/a=3@2'], 'in the order the txn made them');
  });

  test(`${engine}: cancel ends one watch; the others on the stream go on`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    const w = openWatch();
    const a = await w.create({ key: b('c/'), rangeEnd: b('c0') });
    const other = await w.create({ key: b('c/'), rangeEnd: b('c0') });
    await kv.set('c/1', 'x'); // 1
    await w.waitForEvents(a, 1);
    w.cancel(a);
    const canceled = await w.waitFor((r) => r.watchId === a && r.canceled, `a canceled reply for watch ${a}`);
    t.false(canceled.created);
    t.regex(canceled.cancelReason, /canceled by the client/);
    await kv.set('c/2', 'y'); // 2
    await w.waitForEvents(other, 2);
    t.deepEqual(w.events(a).map(show), ['PUT c/1=x@1'], 'nothing after the cancel');
    // Its id is free again, and a new watch on the stream works.
    const again = await w.create({ key: b('c/2'), watchId: a });
    t.is(again, a);
    await kv.set('c/2', 'z'); // 3
    await w.waitForEvents(a, 2);
    t.is(show(w.events(a)[1]!), 'PUT c/2=z@3');
    // Canceling an unknown watch is harmless.
    w.cancel(999);
    await kv.set('c/3', 'q');
    await w.waitForEvents(other, 4);
    t.is(w.error, undefined);
  });

  test(`${engine}: progress_request answers with watch_id -1 and never claims more than was delivered`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    await kv.set('g/0', 'x'); // 1
    const w = openWatch();
    const id = await w.create({ key: b('g/'), rangeEnd: b('g0') });
    await kv.set('unwatched', 'x'); // 2
    w.requestProgress();
    const quiet = await w.waitFor((r) => r.watchId === -1, 'a progress reply');
    t.is(quiet.header!.revision, 2, 'an idle watch is up to date with the store');
    t.deepEqual(quiet.events, []);
    t.false(quiet.created || quiet.canceled);

    // Under a stream of writes, every progress reply comes after every event at or below it.
    let stop = false;
    let written = 2;
    const writer = (async () => {
      while (!stop) written = (await kv.set(`g/${written % 5}`, 'v'.repeat(100))).header!.revision;
    })();
    for (let i = 0; i < 30; i++) {
      w.requestProgress();
      await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => w.responses.filter((r) => r.watchId === -1).length >= 31, 10_000, 'all progress replies');
    stop = true;
    await writer;
    let seen = 2;
    let checked = 0;
    for (const r of w.responses) {
      if (r.watchId === id) seen = Math.max(seen, ...r.events.map((e) => e.kv!.modRevision));
      if (r.watchId === -1) {
        // Every revision after 2 touches the watched prefix, so delivered == seen.
        t.true(r.header!.revision <= seen, `progress at ${r.header!.revision} before the events up to it arrived (delivered through ${seen})`);
        checked++;
      }
    }
    t.is(checked, 31);
    t.true(written > 3, 'writes happened during the progress requests');
  });

  test(`${engine}: watch from a compacted revision is created, then canceled with compact_revision; the stream goes on`, async (t) => {
    const { kv, openWatch } = await startApiNode(t, engine);
    for (let i = 1; i <= 6; i++) await kv.set('k', String(i));
    await kv.compact({ revision: 5 });
    const w = openWatch();
    const created = await w.createRaw({ key: b('k'), startRevision: 2 });
    t.true(created.created);
    const canceled = await w.waitFor((r) => r.watchId === created.watchId && r.canceled, 'the compacted watch to be canceled');
    t.is(canceled.compactRevision, 5);
    t.regex(canceled.cancelReason, /revision 2 has been compacted; the oldest available revision is 5/);
    t.deepEqual(w.events(created.watchId), []);

    // From the compacted revision itself is fine; the stream is still usable.
    const ok = await w.create({ key: b('k'), startRevision: 5 });
    await w.waitForEvents(ok, 2);
    t.deepEqual(w.events(ok).map(show), ['PUT k=5@5', 'PUT k=6@6']);
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
    await kv.set('n', '1'); // 1
    const w = openWatch();
    const notified = await w.create({ key: b('n'), progressNotify: true });
    const silent = await w.create({ key: b('n') });
    const isProgress = (r: WatchResponse) => r.watchId === notified && r.events.length === 0 && !r.created && !r.canceled;
    await kv.set('other', '1'); // 2
    // Notifications may have come during the write; wait for two that follow it.
    const already = w.responses.length;
    await waitUntil(() => w.responses.slice(already).filter(isProgress).length >= 2, 3_000, () => `two progress notifications; got ${summarize(w.responses)}`);
    const notes = w.responses.slice(already).filter(isProgress);
    t.deepEqual(notes.map((r) => r.header!.revision), [2, 2], 'they name the current revision');
    t.deepEqual(
      w.responses.filter((r) => r.watchId === silent && !r.created),
      [],
      'a watch that did not ask gets no notifications',
    );

    // A notification never precedes events at or below its revision.
    await kv.set('n', '2'); // 3
    await w.waitForEvents(notified, 1);
    await waitUntil(() => w.responses.filter(isProgress).some((r) => r.header!.revision >= 3), 3_000, 'a notification after the write');
    let delivered = 0;
    for (const r of w.responses) {
      if (r.watchId !== notified) continue;
      for (const e of r.events) delivered = Math.max(delivered, e.kv!.modRevision);
      if (isProgress(r) && r.header!.revision >= 3) t.true(delivered >= 3, 'the event at 3 came first');
    }
  });
}

