// etcd's Lease service (etcdserverpb.Lease) on a real member, through grpc-js clients
// generated from etcd's protos: grant (server-picked and chosen ids, etcd's errors),
// time-to-live with keys, leases, revoke, keep-alive (TTL 0 for an unknown lease), and an
// expiry deleting the lease's keys, seen by an etcd watch.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { Event_EventType } from '../../gen/ts/etcd/api/mvccpb/kv.js';
import { b, grpcError, s, startApiNode } from '../helpers/grpc-clients.js';
import { EtcdClients } from '../helpers/etcd-clients.js';

test('grant, time-to-live with keys, leases, revoke; etcd errors for unknown leases and huge TTLs', async (t) => {
  const n = await startApiNode(t, 'rocksdb', { limits: { maxLeaseTtl: 1000 } });
  const etcd = new EtcdClients(t, n.address);
  const picked = await etcd.grant(60);
  t.true(picked.ID > 0);
  t.is(picked.TTL, 60);
  t.is(picked.error, '');
  t.truthy(picked.header?.memberId);
  const chosen = await etcd.grant(30, 0x77);
  t.is(chosen.ID, 0x77);

  await etcd.put({ key: b('l/2'), value: b('x'), lease: chosen.ID });
  await etcd.put({ key: b('l/1'), value: b('x'), lease: chosen.ID });
  const ttl = await etcd.timeToLive(chosen.ID, true);
  t.is(ttl.ID, chosen.ID);
  t.is(ttl.grantedTTL, 30);
  t.true(ttl.TTL > 0 && ttl.TTL <= 30);
  t.deepEqual(ttl.keys.map(s), ['l/1', 'l/2']);
  t.deepEqual((await etcd.timeToLive(chosen.ID)).keys, [], 'keys only when asked');
  t.deepEqual(
    (await etcd.leases()).leases.map((l) => l.ID),
    [0x77, picked.ID].sort((x, y) => x - y),
  );

  const exists = await grpcError(etcd.grant(30, 0x77));
  t.is(exists.code, status.FAILED_PRECONDITION);
  t.is(exists.details, 'etcdserver: lease already exists');
  const huge = await grpcError(etcd.grant(1001));
  t.is(huge.code, status.OUT_OF_RANGE);
  t.is(huge.details, 'etcdserver: too large lease TTL');

  const revoked = await etcd.revoke(chosen.ID);
  t.true(revoked.header!.revision > ttl.header!.revision, 'revoking deleted the keys');
  t.is((await etcd.range({ key: b('l/'), rangeEnd: b('l0') })).count, 0);
  for (const id of [chosen.ID, 0, -3]) {
    const err = await grpcError(etcd.revoke(id));
    t.is(err.code, status.NOT_FOUND, `revoke ${id}`);
    t.is(err.details, 'etcdserver: requested lease not found');
  }
  const gone = await etcd.timeToLive(chosen.ID);
  t.is(gone.TTL, -1, 'as etcd: TTL -1 for a lease that does not exist');
});

test('keep-alive renews, answers TTL 0 for an unknown lease; an expired lease deletes its keys in one revision', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  const doomed = (await etcd.grant(2)).ID;
  const kept = (await etcd.grant(2)).ID;
  await etcd.put({ key: b('e/1'), value: b('x'), lease: doomed });
  await etcd.put({ key: b('e/2'), value: b('x'), lease: doomed });
  await etcd.put({ key: b('e/kept'), value: b('x'), lease: kept });
  const w = etcd.openWatch(t);
  const id = await w.create({ key: b('e/'), rangeEnd: b('e0') });

  const ka = etcd.keepAlive();
  t.teardown(() => ka.close());
  const unknown = await ka.renew(424242);
  t.is(unknown.ID, 424242);
  t.is(unknown.TTL, 0);
  let renewing = true;
  const renewals = (async () => {
    while (renewing) {
      const r = await ka.renew(kept);
      t.is(r.ID, kept);
      t.is(r.TTL, 2);
      t.truthy(r.header?.revision);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  const events = await w.waitForEvents(id, 2);
  t.deepEqual(
    events.map((e) => [e.type, s(e.kv?.key)]),
    [
      [Event_EventType.DELETE, 'e/1'],
      [Event_EventType.DELETE, 'e/2'],
    ],
  );
  t.is(events[0]!.kv!.modRevision, events[1]!.kv!.modRevision, 'one revision');
  t.true((await etcd.timeToLive(kept)).TTL > 0);
  t.deepEqual(
    (await etcd.range({ key: b('e/'), rangeEnd: b('e0') })).kvs.map((kv) => s(kv.key)),
    ['e/kept'],
  );
  renewing = false;
  await renewals;
  t.is((await ka.renew(doomed)).TTL, 0, 'the expired lease: TTL 0, the stream stays open');
  t.is((await ka.renew(kept)).TTL, 2);
});
