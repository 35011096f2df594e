// etcd's Watch service (etcdserverpb.Watch) on a real member, through a grpc-js client
// generated from etcd's protos: ids as etcd picks them, mvccpb events, prev_kv, filters,
// history from a start revision, cancel, compacted start revisions, progress (requested and
// periodic), fragments, and refused creates as etcd answers them (a negative start revision,
// an empty range, a duplicate id).
import test from 'ava';
import { Event_EventType } from '../../gen/ts/etcd/api/mvccpb/kv.js';
import { WatchCreateRequest_FilterType } from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { b, s, startApiNode } from '../helpers/grpc-clients.js';
import { EtcdClients } from '../helpers/etcd-clients.js';

test('server-picked ids start at 0, client ids are kept; events are mvccpb events with prev_kv; filters', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  const w = etcd.openWatch(t);
  const first = await w.createRaw({ key: b('a') });
  t.is(first.watchId, 0, 'etcd picks ids from 0');
  t.true(first.created);
  t.false(first.canceled);
  t.truthy(first.header?.clusterId);
  const second = await w.create({ key: b('a'), prevKv: true });
  t.is(second, 1);
  const chosen = await w.create({ key: b('a'), watchId: 42, filters: [WatchCreateRequest_FilterType.NOPUT] });
  t.is(chosen, 42);
  const noDelete = await w.create({ key: b('a'), filters: [WatchCreateRequest_FilterType.NODELETE] });
  t.is(noDelete, 2);

  const put1 = await etcd.put({ key: b('a'), value: b('1') });
  await etcd.put({ key: b('a'), value: b('2') });
  const del = await etcd.deleteRange({ key: b('a') });

  const plain = await w.waitForEvents(0, 3);
  t.deepEqual(
    plain.map((e) => e.type),
    [Event_EventType.PUT, Event_EventType.PUT, Event_EventType.DELETE],
  );
  t.deepEqual(
    plain.map((e) => s(e.kv?.value)),
    ['1', '2', ''],
  );
  t.is(plain[0]!.kv!.modRevision, put1.header!.revision);
  t.is(plain[0]!.prevKv, undefined, 'no prev_kv unless asked');
  const withPrev = await w.waitForEvents(1, 3);
  t.is(s(withPrev[1]!.prevKv?.value), '1');
  t.is(s(withPrev[2]!.prevKv?.value), '2');
  const deletesOnly = await w.waitForEvents(42, 1);
  t.is(deletesOnly[0]!.type, Event_EventType.DELETE);
  t.is(deletesOnly[0]!.kv!.modRevision, del.header!.revision);
  const putsOnly = await w.waitForEvents(2, 2);
  t.true(putsOnly.every((e) => e.type === Event_EventType.PUT));
  // The response carrying an event has that revision in its header.
  const response = w.responses.find((r) => r.watchId === 0 && r.events.length > 0)!;
  t.is(response.header!.revision, response.events[response.events.length - 1]!.kv!.modRevision);
});

test('a watch from an old revision replays history; cancel answers canceled without a reason and stops events', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  const start = (await etcd.put({ key: b('h/1'), value: b('1') })).header!.revision;
  await etcd.put({ key: b('h/2'), value: b('2') });
  await etcd.put({ key: b('other'), value: b('x') });
  const w = etcd.openWatch(t);
  const id = await w.create({ key: b('h/'), rangeEnd: b('h0'), startRevision: start });
  const history = await w.waitForEvents(id, 2);
  t.deepEqual(
    history.map((e) => s(e.kv?.key)),
    ['h/1', 'h/2'],
  );
  const all = await w.create({ key: Buffer.alloc(0), rangeEnd: Buffer.from([0]), startRevision: start });
  t.is((await w.waitForEvents(all, 3)).length, 3, 'an empty key with range_end "\\0" watches every key');

  w.cancel(id);
  const canceled = await w.waitFor((r) => r.watchId === id && r.canceled, 'cancel reply');
  t.is(canceled.cancelReason, '');
  t.false(canceled.created);
  await etcd.put({ key: b('h/3'), value: b('3') });
  await w.waitForEvents(all, 4);
  t.is(w.events(id).length, 2, 'no event after the cancel');
});

test('a compacted start revision: created, then canceled with compact_revision and no reason (as etcd)', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  const old = (await etcd.put({ key: b('c'), value: b('1') })).header!.revision;
  await etcd.put({ key: b('c'), value: b('2') });
  const last = (await etcd.put({ key: b('c'), value: b('3') })).header!.revision;
  await etcd.compact({ revision: last, physical: true });
  const w = etcd.openWatch(t);
  const created = await w.createRaw({ key: b('c'), startRevision: old });
  t.false(created.canceled);
  const canceled = await w.waitFor((r) => r.watchId === created.watchId && r.canceled, 'compaction cancel');
  t.is(canceled.compactRevision, last);
  t.is(canceled.cancelReason, '');
  t.deepEqual(canceled.events, []);
});

test('progress: a requested one for the stream (id -1) and periodic ones per watch', async (t) => {
  const n = await startApiNode(t, 'rocksdb', { watchProgressIntervalMs: 100 });
  const etcd = new EtcdClients(t, n.address);
  const rev = (await etcd.put({ key: b('x'), value: b('1') })).header!.revision;
  const w = etcd.openWatch(t);
  const quiet = await w.create({ key: b('p'), progressNotify: true });
  w.requestProgress();
  const stream = await w.waitFor((r) => r.watchId === -1 && !r.created && !r.canceled, 'stream progress');
  t.is(stream.header!.revision, rev);
  const periodic = await w.waitFor((r) => r.watchId === quiet && !r.created && r.events.length === 0, 'periodic progress');
  t.is(periodic.header!.revision, rev);
});

test('refused creates: watch id -1, created and canceled, with etcd reasons', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  const w = etcd.openWatch(t);
  await w.create({ key: b('f'), watchId: 7 });
  const dup = await w.createRaw({ key: b('f'), watchId: 7 });
  t.is(dup.watchId, -1);
  t.true(dup.created && dup.canceled);
  t.is(dup.cancelReason, 'mvcc: duplicate watch ID provided on the WatchStream');
});

test('fragments: a revision over max request bytes plus 512 KiB (as etcd) is split, greedily', async (t) => {
  // With the default --max-request-bytes (1.5 MiB) etcd splits past 2 MiB. Three deletes at
  // once with prev_kv of 700 KiB each: two fit (1.4 MB), the third goes on its own.
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  const w = etcd.openWatch(t);
  const value = Buffer.alloc(700 * 1024, 'v');
  for (const k of ['f/1', 'f/2', 'f/3']) await etcd.put({ key: b(k), value });
  const fragmented = await w.create({ key: b('f/'), rangeEnd: b('f0'), fragment: true, prevKv: true });
  const whole = await w.create({ key: b('f/'), rangeEnd: b('f0'), prevKv: true });
  await etcd.deleteRange({ key: b('f/'), rangeEnd: b('f0') });
  const parts = await waitForFragments(w, fragmented, 3);
  t.deepEqual(
    parts.map((r) => [r.events.length, r.fragment]),
    [
      [2, true],
      [1, false],
    ],
  );
  const unsplit = await w.waitForEvents(whole, 3);
  t.is(unsplit.length, 3);
  t.is(w.responses.filter((r) => r.watchId === whole && r.events.length > 0).length, 1, 'sent whole without fragment');
});

test('a negative start revision and a range with key >= range_end are refused as etcd refuses them', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  const rev = (await etcd.put({ key: b('r'), value: b('1') })).header!.revision;
  const w = etcd.openWatch(t);
  const refusals = [
    { req: { key: b('r'), startRevision: -1 }, reason: 'etcdserver: mvcc: required revision has been compacted' },
    { req: { key: b('r'), rangeEnd: b('r') }, reason: 'mvcc: watcher range is empty' },
    { req: { key: b('s'), rangeEnd: b('r') }, reason: 'mvcc: watcher range is empty' },
  ];
  for (const { req, reason } of refusals) {
    const r = await w.createRaw(req);
    t.is(r.watchId, -1, reason);
    t.true(r.created && r.canceled, reason);
    t.is(r.cancelReason, reason);
    t.is(r.compactRevision, 0, 'no compact revision: nothing was compacted');
    t.is(r.header!.revision, rev);
  }
  // Refusals take no id; every key >= "r" (range_end "\0") and the key alone still watch.
  t.is(await w.create({ key: b('r'), rangeEnd: Buffer.from([0]) }), 0);
  t.is(await w.create({ key: b('r') }), 1);
});

async function waitForFragments(w: ReturnType<EtcdClients['openWatch']>, id: number, events: number) {
  await w.waitForEvents(id, events);
  return w.responses.filter((r) => r.watchId === id && r.events.length > 0);
}
