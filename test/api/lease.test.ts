// LeaseService over gRPC, in-process on one member: grant (min/max TTL, chosen ids, clashes),
// puts attaching keys to leases and moving them, revoke and expiry deleting all of a lease's
// keys at one revision (watchers see them together), keep-alive, the limits.
import test, { type ExecutionContext } from 'ava';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import { Event_EventType } from '../../gen/ts/cairn/v1/types.js';
import { b, errorDetails, grpcError, s, startApiNode, status } from '../helpers/grpc-clients.js';
import { Leases } from '../helpers/lease-client.js';

const DELETE = Event_EventType.EVENT_TYPE_DELETE;

async function leaseNode(t: ExecutionContext, limits = {}) {
  const n = await startApiNode(t, 'rocksdb', { limits });
  const leases = new Leases(n.address);
  t.teardown(() => leases.close());
  return { ...n, leases };
}

test('grant raises a small TTL to the minimum, keeps a chosen id, and refuses clashes, bad ids and huge TTLs', async (t) => {
  const { leases } = await leaseNode(t, { maxLeaseTtl: 100 });
  const small = await leases.grant(1);
  t.is(small.ttl, 2, '1.5 x the 1 s election timeout, rounded up');
  t.true(small.id >= 1 && small.id <= Number.MAX_SAFE_INTEGER);
  const chosen = await leases.grant(30, 0x1234);
  t.is(chosen.id, 0x1234);
  t.is(chosen.ttl, 30);

  const clash = await grpcError(leases.grant(30, 0x1234));
  t.is(clash.code, status.ALREADY_EXISTS);
  t.is(errorDetails(clash)?.info?.code, ErrorCode.ERROR_CODE_LEASE_EXISTS);
  const huge = await grpcError(leases.grant(101));
  t.is(huge.code, status.INVALID_ARGUMENT);
  t.is(errorDetails(huge)?.info?.code, ErrorCode.ERROR_CODE_LEASE_TTL_TOO_LARGE);
  t.regex(huge.details, /--max-lease-ttl/);
  t.is((await grpcError(leases.grant(10, -5))).code, status.INVALID_ARGUMENT);
  t.is((await grpcError(leases.grant(-1))).code, status.INVALID_ARGUMENT);

  const listed = (await leases.list()).leases.map((l) => l.id);
  t.deepEqual(
    listed,
    [0x1234, small.id].sort((x, y) => x - y),
  );
});

test('puts attach keys, move them between leases and off; time-to-live lists the attached keys', async (t) => {
  const { kv, leases } = await leaseNode(t);
  const a = (await leases.grant(60)).id;
  const c = (await leases.grant(60)).id;
  await kv.put({ key: b('k1'), value: b('1'), lease: a });
  await kv.put({ key: b('k2'), value: b('2'), lease: a });
  t.is((await kv.range({ key: b('k1') })).kvs[0]?.lease, a);
  t.deepEqual((await leases.timeToLive(a, true)).keys.map(s), ['k1', 'k2']);

  await kv.put({ key: b('k2'), value: b('2'), lease: c });
  await kv.put({ key: b('k1'), value: b('1b') });
  const ta = await leases.timeToLive(a, true);
  t.deepEqual(ta.keys, []);
  t.is(ta.grantedTtl, 60);
  t.true(ta.ttl > 0 && ta.ttl <= 60);
  t.deepEqual((await leases.timeToLive(c, true)).keys.map(s), ['k2']);
  await kv.deleteRange({ key: b('k2') });
  t.deepEqual((await leases.timeToLive(c, true)).keys, []);
  t.is((await leases.timeToLive(424242)).ttl, -1);

  const unknown = await grpcError(kv.put({ key: b('k3'), value: b('x'), lease: 424242 }));
  t.is(unknown.code, status.NOT_FOUND);
  t.regex(unknown.details, /lease 424242 not found/);
});

test('revoke deletes every attached key at one revision, seen together by a watcher', async (t) => {
  const { kv, leases, openWatch } = await leaseNode(t);
  const id = (await leases.grant(60)).id;
  for (const k of ['svc/a', 'svc/b', 'svc/c']) await kv.put({ key: b(k), value: b('up'), lease: id });
  await kv.put({ key: b('svc/other'), value: b('stays') });
  const watch = openWatch();
  const watchId = await watch.create({ key: b('svc/'), rangeEnd: b('svc0') });
  const revoked = await leases.revoke(id);
  const events = await watch.waitForEvents(watchId, 3);
  t.deepEqual(
    events.map((e) => [e.type, s(e.kv?.key), e.kv?.modRevision]),
    ['svc/a', 'svc/b', 'svc/c'].map((k) => [DELETE, k, revoked.header!.revision]),
  );
  t.is((await kv.range({ key: b('svc/'), rangeEnd: b('svc0') })).kvs.map((kv) => s(kv.key)).join(), 'svc/other');
  t.is((await leases.timeToLive(id)).ttl, -1);
  const again = await grpcError(leases.revoke(id));
  t.is(again.code, status.NOT_FOUND);
  t.regex(again.details, new RegExp(`lease ${id} not found`));
});

test('an expired lease takes its keys with it at one revision; a kept-alive one stays past its TTL', async (t) => {
  const { kv, leases, openWatch } = await leaseNode(t);
  const doomed = (await leases.grant(2)).id;
  const kept = (await leases.grant(2)).id;
  await kv.put({ key: b('e/1'), value: b('x'), lease: doomed });
  await kv.put({ key: b('e/2'), value: b('x'), lease: doomed });
  await kv.put({ key: b('e/kept'), value: b('x'), lease: kept });
  const watch = openWatch();
  const watchId = await watch.create({ key: b('e/'), rangeEnd: b('e0') });

  const ka = leases.keepAlive();
  t.teardown(() => ka.close());
  let renewing = true;
  const renewals = (async () => {
    while (renewing) {
      const r = await ka.renew(kept);
      t.is(r.ttl, 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  const events = await watch.waitForEvents(watchId, 2, 30_000);
  t.deepEqual(
    events.map((e) => [e.type, s(e.kv?.key)]),
    [
      [DELETE, 'e/1'],
      [DELETE, 'e/2'],
    ],
  );
  t.is(events[0]!.kv!.modRevision, events[1]!.kv!.modRevision, 'one revision');
  // The kept lease was granted with the same TTL at the same time and outlived the other.
  const expiredAt = events[0]!.kv!.modRevision;
  t.true((await leases.timeToLive(kept)).ttl > 0);
  t.deepEqual(
    (await kv.range({ key: b('e/'), rangeEnd: b('e0') })).kvs.map((x) => s(x.key)),
    ['e/kept'],
  );
  t.true(expiredAt > 0);
  renewing = false;
  await renewals;

  // Renewing a lease that no longer exists answers ttl 0 and keeps the stream open.
  t.is((await ka.renew(doomed)).ttl, 0);
  t.is((await ka.renew(kept)).ttl, 2);
});

test('limits: leases per cluster and keys per lease', async (t) => {
  const { kv, leases } = await leaseNode(t, { maxLeases: 2, maxKeysPerLease: 2 });
  const id = (await leases.grant(60)).id;
  await leases.grant(60);
  const tooMany = await grpcError(leases.grant(60));
  t.is(tooMany.code, status.RESOURCE_EXHAUSTED);
  t.is(errorDetails(tooMany)?.info?.code, ErrorCode.ERROR_CODE_TOO_MANY_LEASES);
  t.regex(tooMany.details, /--max-leases/);

  await kv.put({ key: b('a'), value: b('1'), lease: id });
  await kv.put({ key: b('b'), value: b('1'), lease: id });
  await kv.put({ key: b('b'), value: b('2'), lease: id }); // already attached: not one more
  const full = await grpcError(kv.put({ key: b('c'), value: b('1'), lease: id }));
  t.is(full.code, status.RESOURCE_EXHAUSTED);
  t.is(errorDetails(full)?.info?.code, ErrorCode.ERROR_CODE_TOO_MANY_KEYS_PER_LEASE);
  t.regex(full.details, /--max-keys-per-lease/);
  t.is((await kv.range({ key: b('c') })).kvs.length, 0, 'the refused put changed nothing');
});
