import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import test from 'ava';
import type { SimResult } from './simulator.js';
import { LIVENESS_BOUND_MS, REQUEST_BOUND_MS, runSeed } from './simulator.js';

/*
 * Seeded deterministic simulation of 1-, 3- and 5-member clusters (half of the seeds also add,
 * promote and remove members, the leader included) running the real RaftDriver
 * over a simulated network and disk. Environment:
 *   SIM_SEEDS=N        number of seeds (default 1000), starting at SIM_FIRST_SEED (default 1)
 *   SIM_SEED=S         run exactly one seed (replay a failure)
 *   SIM_TRACE=1        print the event trace of the run(s)
 */
const trace = process.env['SIM_TRACE'] === '1';
const single = process.env['SIM_SEED'];
const first = Number(process.env['SIM_FIRST_SEED'] ?? 1);
const count = Number(process.env['SIM_SEEDS'] ?? 1000);
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: count }, (_, i) => first + i);

test(`simulation: ${seeds.length === 1 ? `seed ${seeds[0]}` : `${seeds.length} seeds from ${seeds[0]}`} keep every safety invariant and, after healing, commit and complete every client request`, async (t) => {
  t.timeout(Math.max(120_000, seeds.length * 200));
  const started = Date.now();
  let steps = 0;
  let virtualMs = 0;
  let maxLiveness = 0;
  let maxRequest = 0;
  const requests = { issued: 0, completed: 0, rejected: 0, excused: 0 };
  const bySize = new Map<number, number>();
  let crashes = 0;
  let fsyncFailures = 0;
  let partitions = 0;
  let reads = 0;
  let committed = 0;
  let snapshots = 0;
  let elections = 0;
  const membership = { seeds: 0, proposed: 0, applied: 0, added: 0, removed: 0 };
  for (let i = 0; i < seeds.length; i++) {
    const seed = seeds[i]!;
    let r: SimResult;
    try {
      r = runSeed(seed, { trace });
    } catch (err) {
      // The message carries the seed, config, last events and the one-line replay command.
      t.fail(err instanceof Error ? err.message : String(err));
      return;
    }
    steps += r.steps;
    virtualMs += r.virtualMs;
    maxLiveness = Math.max(maxLiveness, r.livenessMs);
    maxRequest = Math.max(maxRequest, r.maxRequestMs);
    requests.issued += r.requests.issued;
    requests.completed += r.requests.completed;
    requests.rejected += r.requests.rejected;
    requests.excused += r.requests.excused;
    bySize.set(r.members, (bySize.get(r.members) ?? 0) + 1);
    crashes += r.crashes;
    fsyncFailures += r.fsyncFailures;
    partitions += r.partitions;
    reads += r.reads;
    committed += r.committed;
    snapshots += r.snapshotsInstalled;
    elections += r.leaderElections;
    if (r.membership.proposed > 0) membership.seeds++;
    membership.proposed += r.membership.proposed;
    membership.applied += r.membership.applied;
    membership.added += r.membership.added;
    membership.removed += r.membership.removed;
    if (i % 50 === 49) await yieldToEventLoop(); // stay responsive to the test runner
  }
  const wall = Date.now() - started;
  const summary =
    `simulated ${seeds.length} seeds (${bySize.get(1) ?? 0} x 1 member, ${bySize.get(3) ?? 0} x 3 members, ${bySize.get(5) ?? 0} x 5 members): ` +
    `${steps} steps, ${(virtualMs / 1000).toFixed(0)} virtual s, ${committed} entries committed, ${crashes} crashes ` +
    `(${fsyncFailures} from fsync failures), ${partitions} partitions, ${elections} leaders elected, ` +
    `${snapshots} snapshots installed by followers, ${reads} linearizable reads checked; ` +
    `membership: ${membership.seeds} seeds changed it, ${membership.proposed} changes accepted, ${membership.applied} applied, ` +
    `${membership.added} members added, ${membership.removed} removed (told by their driver); ` +
    `client requests: ${requests.issued} issued, ${requests.completed} completed, ${requests.rejected} rejected at once, ` +
    `${requests.excused} excused by a disturbance (slowest undisturbed ${maxRequest} ms, bound ${REQUEST_BOUND_MS} ms after healing); ` +
    `slowest post-heal commit ${maxLiveness} ms (bound ${LIVENESS_BOUND_MS} ms); wall ${(wall / 1000).toFixed(1)} s`;
  t.log(summary);
  console.log(summary);
  t.true(steps > seeds.length * 500, 'the simulation did real work');
  t.true(committed > seeds.length * 10, 'clusters made progress under faults');
  if (seeds.length >= 100) {
    t.true(snapshots > 0 && elections > seeds.length, 'snapshot catch-up and leader changes were exercised');
    t.true((bySize.get(1) ?? 0) > 0 && (bySize.get(3) ?? 0) > 0 && (bySize.get(5) ?? 0) > 0, 'every cluster size ran');
    t.true(membership.added > 0 && membership.removed > 0, 'members were added and removed under faults');
  }
});

test('simulation: a seed replays identically (determinism)', (t) => {
  const a = runSeed(4242);
  const b = runSeed(4242);
  t.deepEqual(a, b);
  const c = runSeed(4243);
  t.notDeepEqual(a.fingerprint + a.steps, c.fingerprint + c.steps, 'different seeds explore different runs');
});

test('simulation: the invariants catch a disk that acknowledges writes before they are durable', (t) => {
  // Sanity check of the checker itself: with a lying disk, crashes lose acknowledged writes,
  // which must surface as a safety violation (lost committed entry, commit past the log...).
  const failures: string[] = [];
  for (let seed = 1; seed <= 100 && failures.length < 3; seed++) {
    try {
      runSeed(seed, { lyingDisk: true });
    } catch (err) {
      failures.push(err instanceof Error ? err.message.split('\n')[0]! : String(err));
    }
  }
  t.log(failures.join('\n'));
  t.true(failures.length > 0, 'at least one seed detected the lost writes');
  for (const f of failures) t.regex(f, /^seed \d+ failed at virtual t=\d+ms, step \d+: (InvariantViolation|InvariantError): /);
});

test('simulation: the liveness check catches reads that never complete', (t) => {
  // Sanity check of the liveness check itself: if read states never reach the client, some
  // seed must report a read outstanding past its deadline with nothing to excuse it.
  const failures: string[] = [];
  for (let seed = 1; seed <= 100 && failures.length < 3; seed++) {
    try {
      runSeed(seed, { loseReadStates: true });
    } catch (err) {
      failures.push(err instanceof Error ? err.message.split('\n')[0]! : String(err));
    }
  }
  t.log(failures.join('\n'));
  t.true(failures.length > 0, 'at least one seed detected the lost reads');
  for (const f of failures) t.regex(f, /^seed \d+ failed at virtual t=\d+ms, step \d+: InvariantViolation: liveness: read r\d+ /);
});
