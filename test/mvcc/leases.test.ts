// Leases in the store, through the real applier: attachments follow puts and deletes, revoke
// and expiry delete every attached key at one revision, and everything (leases, their keys,
// checkpoints) is rebuilt when the store is opened again.
import test from 'ava';
import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import { Event_EventType } from '../../gen/ts/cairn/v1/types.js';
import { ErrorCode } from '../../server/errors.js';
import type { RevisionEvents } from '../../server/mvcc/events.js';
import { TestStore } from '../helpers/mvcc-store.js';

const grant = (id: number, ttl: number): Command => ({ request: { $case: 'leaseGrant', leaseGrant: { id, ttl } } });
const revoke = (id: number): Command => ({ request: { $case: 'leaseRevoke', leaseRevoke: { id } } });
const expire = (...ids: number[]): Command => ({ request: { $case: 'leaseExpire', leaseExpire: { ids } } });
const checkpoint = (id: number, remainingMs: number): Command => ({
  request: { $case: 'leaseCheckpoint', leaseCheckpoint: { remaining: [{ id, remainingMs }] } },
});

async function store(t: { teardown: (fn: () => Promise<void>) => void }): Promise<TestStore> {
  const ts = await TestStore.create('rocksdb');
  t.teardown(() => ts.destroy());
  return ts;
}

const keysOf = (ts: TestStore, id: number): string[] => [...(ts.store.leases.get(id)?.keys ?? [])].sort();

test('puts attach keys to leases and move them; deletes detach them; an unknown lease is refused', async (t) => {
  const ts = await store(t);
  await ts.ok(grant(1, 60));
  await ts.ok(grant(2, 60));
  await ts.put('a', '1', { lease: 1 });
  await ts.put('b', '1', { lease: 1 });
  t.deepEqual(keysOf(ts, 1), ['a', 'b']);
  await ts.put('b', '2', { lease: 2 });
  await ts.put('a', '2');
  t.deepEqual(keysOf(ts, 1), []);
  t.deepEqual(keysOf(ts, 2), ['b']);
  await ts.put('b', '3', { ignoreLease: true });
  t.deepEqual(keysOf(ts, 2), ['b'], 'ignore_lease keeps the lease');
  await ts.del('b');
  t.deepEqual(keysOf(ts, 2), []);
  const err = await ts.fails({
    request: {
      $case: 'put',
      put: { key: Buffer.from('c'), value: Buffer.from('x'), lease: 9, prevKv: false, ignoreValue: false, ignoreLease: false },
    },
  });
  t.is(err.code, ErrorCode.ERROR_CODE_LEASE_NOT_FOUND);
  t.is(err.message, 'lease 9 not found');
  t.is((await ts.fails(grant(1, 10))).code, ErrorCode.ERROR_CODE_LEASE_EXISTS);
});

test('revoke and expiry delete all of a lease’s keys at one revision each', async (t) => {
  const ts = await store(t);
  const published: RevisionEvents[] = [];
  ts.store.onCommit((revisions) => published.push(...revisions));
  for (const id of [1, 2, 3]) await ts.ok(grant(id, 60));
  for (const k of ['x1', 'x2', 'x3']) await ts.put(k, 'v', { lease: 1 });
  for (const k of ['y1', 'y2']) await ts.put(k, 'v', { lease: 2 });
  await ts.put('z1', 'v', { lease: 3 });
  const before = ts.store.currentRevision;

  await ts.ok(revoke(1));
  t.is(ts.store.currentRevision, before + 1);
  const revoked = published.at(-1)!;
  t.is(revoked.revision, before + 1);
  t.deepEqual(
    revoked.events.map((e) => [e.type, e.kv!.key.toString()]),
    ['x1', 'x2', 'x3'].map((k) => [Event_EventType.EVENT_TYPE_DELETE, k]),
  );
  t.is((await ts.fails(revoke(1))).code, ErrorCode.ERROR_CODE_LEASE_NOT_FOUND);

  // One expiry command for two leases (and one already gone): one revision per lease.
  await ts.ok(expire(2, 1, 3));
  t.is(ts.store.currentRevision, before + 3);
  t.deepEqual(
    published.slice(-2).map((r) => [r.revision, r.events.map((e) => e.kv!.key.toString())]),
    [
      [before + 2, ['y1', 'y2']],
      [before + 3, ['z1']],
    ],
  );
  t.is(ts.store.leases.size, 0);
  t.is((await ts.range('', '\0')).kvs.length, 0);
});

test('leases, attachments and checkpoints survive reopening the store; a revoked lease stays gone', async (t) => {
  const ts = await store(t);
  await ts.ok(grant(10, 60));
  await ts.ok(grant(11, 30));
  await ts.ok(grant(12, 30));
  await ts.put('p', 'v', { lease: 10 });
  await ts.put('q', 'v', { lease: 10 });
  await ts.put('q', 'v2', { lease: 11 });
  await ts.put('r', 'v', { lease: 12 });
  await ts.ok(checkpoint(10, 42_000));
  await ts.ok(revoke(12));
  await ts.reopen();
  const leases = ts.store.leases;
  t.deepEqual([...leases.all()].map((l) => [l.id, l.ttl, l.remainingMs]).sort(), [
    [10, 60, 42_000],
    [11, 30, 0],
  ]);
  t.deepEqual(keysOf(ts, 10), ['p']);
  t.deepEqual(keysOf(ts, 11), ['q']);
  t.is(leases.leaseOf('r'), 0);
  // The rebuilt attachments are live: revoking deletes the keys.
  await ts.ok(revoke(10));
  t.deepEqual(
    (await ts.range('', '\0')).kvs.map((kv) => kv.key.toString()),
    ['q'],
  );
});
