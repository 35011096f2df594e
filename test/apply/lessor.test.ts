// The lessor's clock-side logic with an injected clock and role: deadlines, renewals
// without the log, promotion (continue from the checkpoint plus one election timeout, never
// from the full TTL), demotion, expiry batches and retries, checkpoints.
import test from 'ava';
import { Lessor } from '../../server/apply/lessor.js';
import { LeaseTable } from '../../server/mvcc/lease-table.js';

const ELECTION_MS = 1000;

function setup(options: { maxBatch?: number; checkpointIntervalMs?: number } = {}) {
  const table = new LeaseTable();
  const clock = { now: 0 };
  const role = { leader: true, term: 1 };
  const lessor = new Lessor({
    table: () => table,
    role: () => role,
    now: () => clock.now,
    promotionExtensionMs: ELECTION_MS,
    checkpointIntervalMs: options.checkpointIntervalMs ?? 5000,
    maxBatch: options.maxBatch ?? 1000,
    expiryRetryMs: 7000,
  });
  /** What the applier does on every member when a grant applies. */
  const granted = (id: number, ttl: number): void => {
    table.add({ id, ttl, remainingMs: 0 });
    lessor.onChange({ kind: 'granted', id, ttl });
  };
  const removed = (id: number): void => {
    table.remove(id);
    lessor.onChange({ kind: 'removed', id });
  };
  return { table, clock, role, lessor, granted, removed };
}

test('a lease expires at its TTL unless renewed; renewal needs no log entry and resets to the full TTL', (t) => {
  const { clock, lessor, granted } = setup();
  granted(1, 10);
  granted(2, 10);
  clock.now = 6000;
  t.is(lessor.renew(1), 10);
  t.deepEqual(lessor.timeToLive(1), { ttl: 10, grantedTtl: 10 });
  t.deepEqual(lessor.timeToLive(2), { ttl: 4, grantedTtl: 10 });
  clock.now = 9999;
  t.deepEqual(lessor.takeExpired(), []);
  clock.now = 10_000;
  t.deepEqual(lessor.takeExpired(), [[2]]);
  t.is(lessor.renew(2), 0, 'an expired lease is not renewed while its expiry is on its way');
  t.deepEqual(lessor.takeExpired(), [], 'an expiry already proposed is not proposed again at once');
  clock.now = 15_000;
  t.is(lessor.renew(1), 10);
  clock.now = 17_000;
  t.deepEqual(lessor.takeExpired(), [[2]], 'proposed again after the retry time');
  t.is(lessor.renew(99), 0, 'unknown lease');
  t.is(lessor.timeToLive(99), undefined);
});

test('expiries come soonest first, in batches of maxBatch', (t) => {
  const { clock, lessor, granted } = setup({ maxBatch: 2 });
  granted(5, 3);
  granted(4, 2);
  granted(3, 1);
  granted(9, 100);
  clock.now = 3000;
  t.deepEqual(lessor.takeExpired(), [[3, 4], [5]]);
});

test('a new leader continues from the checkpointed remaining TTL plus one election timeout, not the full TTL', (t) => {
  const { table, clock, role, lessor } = setup();
  // Leases as a follower holds them: one checkpointed at 20 s left, one never checkpointed.
  table.add({ id: 1, ttl: 60, remainingMs: 20_000 });
  table.add({ id: 2, ttl: 30, remainingMs: 0 });
  role.leader = false;
  clock.now = 100_000;
  t.false(lessor.isLeader());
  t.deepEqual(lessor.takeExpired(), [], 'followers expire nothing');
  role.leader = true;
  role.term = 2;
  t.deepEqual(lessor.timeToLive(1), { ttl: 21, grantedTtl: 60 });
  t.deepEqual(lessor.timeToLive(2), { ttl: 31, grantedTtl: 30 });
  clock.now = 100_000 + 20_999;
  t.deepEqual(lessor.takeExpired(), []);
  clock.now = 100_000 + 21_000;
  t.deepEqual(lessor.takeExpired(), [[1]]);
});

test('losing leadership drops the deadlines; leading again in a later term starts afresh from the checkpoints', (t) => {
  const { table, clock, role, lessor, granted } = setup();
  granted(1, 10);
  clock.now = 9000;
  t.deepEqual(lessor.timeToLive(1), { ttl: 1, grantedTtl: 10 });
  role.leader = false;
  t.is(lessor.renew(1), 0, 'a follower does not renew');
  table.get(1)!.remainingMs = 1000; // the checkpoint the old term wrote
  role.leader = true;
  role.term = 3;
  t.deepEqual(lessor.timeToLive(1), { ttl: 2, grantedTtl: 10 });
  clock.now = 9000 + 1999;
  t.deepEqual(lessor.takeExpired(), [], 'at least one election timeout of grace');
});

test('checkpoints carry the remaining TTLs that changed, every interval or when forced; removals forget a lease', (t) => {
  const { clock, lessor, granted, removed } = setup({ checkpointIntervalMs: 5000 });
  granted(1, 60);
  granted(2, 60);
  clock.now = 4000;
  t.deepEqual(lessor.takeCheckpoints(), [], 'not due yet');
  clock.now = 5000;
  t.deepEqual(lessor.takeCheckpoints(), [
    [
      { id: 1, remainingMs: 55_000 },
      { id: 2, remainingMs: 55_000 },
    ],
  ]);
  clock.now = 6000;
  t.deepEqual(lessor.takeCheckpoints(), [], 'the interval starts again');
  removed(2);
  t.deepEqual(lessor.takeCheckpoints(true), [[{ id: 1, remainingMs: 54_000 }]]);
  t.is(lessor.timeToLive(2), undefined);
});
