/**
 * Leases and the recipes built on them, against a real member: the lease API, sessions,
 * the mutex and its fencing token, elections, and service discovery. (Processes that die
 * or pause while holding a lock or leading are in recipes-processes.test.ts.)
 */
import test from 'ava';
import { startNodeProcess, type NodeProcess } from '../../../test/helpers/node-process.js';
import { CairnClient, CairnError, Compare, Election, ErrorCode, Mutex, Op, type KeyValue, type ServiceChange } from '../src/index.js';

let node: NodeProcess;
let client: CairnClient;

test.before(async () => {
  node = await startNodeProcess();
  client = new CairnClient({ endpoints: [node.address], callTimeoutMs: 15_000 });
});

test.after.always(async () => {
  client?.close();
  await node?.cleanup();
});

async function rejectsWith(t: { fail(m: string): void }, promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CairnError) return err;
    throw err;
  }
  t.fail('expected a CairnError');
  throw new Error('unreachable');
}

test('lease API: grant, put on the lease, time to live with keys, list, renew once, revoke deletes the keys', async (t) => {
  const granted = await client.lease.grant(30);
  t.true(granted.id > 0);
  t.true(granted.ttl >= 30);
  await client.put('lease-api/a', '1', { lease: granted.id });
  await client
    .txn()
    .then(Op.put('lease-api/b', '2', { lease: granted.id }))
    .commit();

  const ttl = await client.lease.timeToLive(granted.id, { keys: true });
  t.is(ttl.grantedTtl, granted.ttl);
  t.true(ttl.ttl > 0 && ttl.ttl <= granted.ttl);
  t.deepEqual(ttl.keys.map((k) => k.toString()).sort(), ['lease-api/a', 'lease-api/b']);
  t.is((await client.get('lease-api/a'))?.lease, granted.id);
  t.true((await client.lease.leases()).includes(granted.id));
  t.true((await client.lease.keepAliveOnce(granted.id)).ttl > 0);

  await client.lease.revoke(granted.id);
  t.is((await client.getPrefix('lease-api/')).count, 0, 'the keys went with the lease');
  t.is((await client.lease.timeToLive(granted.id)).ttl, -1);
  t.false((await client.lease.leases()).includes(granted.id));
  const gone = await rejectsWith(t, client.lease.keepAliveOnce(granted.id));
  t.is(gone.cairnCode, ErrorCode.ERROR_CODE_LEASE_NOT_FOUND);
});

test('lease API: a chosen id is granted as asked, and asking for it again is refused', async (t) => {
  const id = 0x1234_5678_9abcn;
  t.is((await client.lease.grant(30, { id })).id, id);
  const again = await rejectsWith(t, client.lease.grant(30, { id }));
  t.is(again.cairnCode, ErrorCode.ERROR_CODE_LEASE_EXISTS);
  await client.lease.revoke(id);
});

test('keepAlive keeps a short lease alive past its TTL, until closed', async (t) => {
  const { id, ttl } = await client.lease.grant(2);
  await client.put('keep-alive/k', 'v', { lease: id });
  const keepAlive = client.lease.keepAlive(id);
  const start = Date.now();
  for await (const renewal of keepAlive) {
    t.is(renewal.id, id);
    t.true(renewal.ttl > 0);
    // Renewed after the TTL had run out once: only the renewals kept the lease alive.
    if (renewal.sentAt - start > ttl * 1000 * 1.5) break;
  }
  t.is((await client.get('keep-alive/k'))?.valueString, 'v');
  await client.lease.revoke(id);
});

test('a session: register binds keys to it, close revokes them; a lease revoked elsewhere makes it lost', async (t) => {
  const session = await client.session({ ttl: 30 });
  await session.register('session/a', 'x');
  t.is((await client.get('session/a'))?.lease, session.leaseId);
  await session.close();
  t.is(await client.get('session/a'), undefined);

  const other = await client.session({ ttl: 3 });
  const lost = new Promise<Error>((resolve) => other.once('lost', resolve));
  await client.lease.revoke(other.leaseId);
  const reason = await lost;
  t.true(other.isLost);
  t.is(reason, await other.lost);
  t.is((reason as CairnError).cairnCode, ErrorCode.ERROR_CODE_LEASE_NOT_FOUND);
  await t.throwsAsync(other.register('session/b', 'y'));
});

test('mutex: one holder at a time, tokens grow, a waiter gets the lock on unlock, the old token fences nothing', async (t) => {
  const [sa, sb, sc] = await Promise.all([client.session({ ttl: 30 }), client.session({ ttl: 30 }), client.session({ ttl: 30 })]);
  t.teardown(() => Promise.all([sa.close(), sb.close(), sc.close()]));
  const a = new Mutex(sa, 'mutex-test');
  const b = new Mutex(sb, 'mutex-test');
  t.is(a.key, `mutex-test/${sa.leaseId.toString(16)}`);
  const tokenA = await a.lock();
  t.is((await a.txn().then(Op.put('mutex-test-data', 'a')).commit()).succeeded, true);

  let bHolds = false;
  const bLocked = b.lock().then((token) => {
    bHolds = true;
    return token;
  });
  t.is(await new Mutex(sc, 'mutex-test').tryLock(), undefined, 'tryLock does not take a held lock');
  t.false(bHolds);
  await a.unlock();
  const tokenB = await bLocked;
  t.true(tokenB > tokenA);

  // a's token is stale now: a guarded write with it is refused.
  t.is(
    (
      await client
        .txn()
        .if(Compare.createRevision(a.key, '==', tokenA))
        .then(Op.put('mutex-test-data', 'stale'))
        .commit()
    ).succeeded,
    false,
  );
  t.is((await b.txn().then(Op.put('mutex-test-data', 'b')).commit()).succeeded, true);
  t.is((await client.get('mutex-test-data'))?.valueString, 'b');
  await b.unlock();
});

test('mutex: a waiting lock() rejects when its signal aborts or its session is lost, and leaves the queue', async (t) => {
  const [holder, waiter] = await Promise.all([client.session({ ttl: 30 }), client.session({ ttl: 3 })]);
  t.teardown(() => Promise.all([holder.close(), waiter.close()]));
  await new Mutex(holder, 'mutex-abort').lock();
  const abort = new AbortController();
  const waiting = new Mutex(waiter, 'mutex-abort').lock({ signal: abort.signal });
  abort.abort();
  const cancelled = await rejectsWith(t, waiting);
  t.is(cancelled.codeName, 'CANCELLED');
  t.is((await client.getPrefix('mutex-abort/')).count, 1, 'the waiter left the queue');

  const before = await client.getPrefix('mutex-abort/');
  const lostWaiter = new Mutex(waiter, 'mutex-abort').lock();
  // Once it is queued, take its lease away.
  for await (const batch of client.watch('mutex-abort/', { prefix: true, startRevision: before.revision + 1n }))
    if (batch.events.some((e) => e.type === 'put')) break;
  await client.lease.revoke(waiter.leaseId);
  const lost = await rejectsWith(t, lostWaiter);
  t.is(lost.cairnCode, ErrorCode.ERROR_CODE_LEASE_NOT_FOUND);
});

test('election: campaign, proclaim, resign hands over, observe sees each leader and value', async (t) => {
  const [s1, s2] = await Promise.all([client.session({ ttl: 30 }), client.session({ ttl: 30 })]);
  t.teardown(() => Promise.all([s1.close(), s2.close()]));
  const e1 = new Election(s1, 'election-test');
  const e2 = new Election(s2, 'election-test');
  t.is(await e1.leader(), undefined);

  const seen: KeyValue[] = [];
  const stop = new AbortController();
  let onSeen: () => void = () => undefined;
  const observing = (async () => {
    for await (const leader of client.observeLeader('election-test', { signal: stop.signal })) {
      seen.push(leader);
      onSeen();
    }
  })();
  const until = (n: number): Promise<void> =>
    new Promise((resolve) => {
      onSeen = () => seen.length >= n && resolve();
      onSeen();
    });

  await e1.campaign('one');
  t.is((await e1.leader())?.valueString, 'one');
  let e2Leads = false;
  const e2Campaign = e2.campaign('two').then(() => (e2Leads = true));
  await e1.proclaim('one again');
  await until(2);
  t.false(e2Leads);
  await e1.resign();
  await e2Campaign;
  await until(3);
  stop.abort();
  await observing;
  t.deepEqual(
    seen.map((kv) => kv.valueString),
    ['one', 'one again', 'two'],
  );
  t.is(seen[2]!.keyString, e2.key);
  const refused = await rejectsWith(t, e1.proclaim('usurper'));
  t.is(refused.codeName, 'FAILED_PRECONDITION');
  t.is((await e2.leader())?.valueString, 'two');
});

test('discover: the live set at a revision, then joins and leaves from the next one', async (t) => {
  const [s1, s2, s3] = await Promise.all([client.session({ ttl: 30 }), client.session({ ttl: 30 }), client.session({ ttl: 30 })]);
  t.teardown(() => Promise.all([s1.close(), s2.close(), s3.close()]));
  await s1.register('services/web/1', 'addr1');
  const second = await s2.register('services/web/2', 'addr2');
  const found = await client.discover('services/web/');
  t.true(found.revision >= second.revision);
  t.deepEqual([...found.services].sort(), [
    ['services/web/1', 'addr1'],
    ['services/web/2', 'addr2'],
  ]);
  const joined = await s3.register('services/web/3', 'addr3');
  await s1.close();
  const changes: ServiceChange[] = [];
  for await (const change of found.changes) {
    changes.push(change);
    if (changes.length === 2) break;
  }
  t.deepEqual(changes[0], { type: 'join', key: 'services/web/3', value: 'addr3', revision: joined.revision });
  t.like(changes[1], { type: 'leave', key: 'services/web/1' });
});
