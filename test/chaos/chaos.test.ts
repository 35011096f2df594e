/**
 * Bounded chaos runs for `npm test`: real 3-member clusters under kill -9, SIGSTOP and
 * partitions with a concurrent workload, checked for linearizability, durability,
 * monotonic revisions, watch continuity and convergence (see harness/run-chaos.ts).
 * The nemesis seed is random and logged; CHAOS_SEED=<n> replays a schedule. A failing run
 * is saved under .chaos-runs/<timestamp>/. Longer runs: `npm run chaos -- --help`.
 */
import test, { type ExecutionContext } from 'ava';
import { describeOutcomes, runChaos, type ChaosOptions } from './harness/run-chaos.js';

const seed = (): number => (process.env['CHAOS_SEED'] ? Number(process.env['CHAOS_SEED']) : Math.floor(Math.random() * 2 ** 31));

async function chaos(t: ExecutionContext, options: Omit<ChaosOptions, 'seed' | 'log'>): Promise<void> {
  const s = seed();
  t.log(`seed ${s} (replay the schedule with CHAOS_SEED=${s})`);
  const result = await runChaos({ ...options, seed: s, log: (line) => t.log(line) });
  const sum = result.summary;
  t.log(`${describeOutcomes(sum)}; warm-up ${sum.warmupOkOpsPerSec} ok ops/s; final revision ${sum.finalRevision}`);
  t.log(`by kind: ${JSON.stringify(sum.byKind)}`);
  t.log(`faults: ${sum.faults.map((f) => `${(f.at / 1000).toFixed(1)}s ${f.what}`).join('; ')}`);
  t.log(`checker: ${sum.linearizability.verdict} in ${sum.linearizability.ms} ms; ${sum.watchers}`);
  t.true(result.passed, `chaos run failed (seed ${s}, saved to ${result.artifacts}):\n${result.problems.join('\n')}`);
}

test.serial('3 members on rocksdb stay linearizable and lose nothing under kill, pause and partition', async (t) => {
  t.timeout(150_000);
  await chaos(t, { members: 3, engine: 'rocksdb', faultMs: 35_000, nemeses: ['kill', 'pause', 'partition'] });
});

test.serial('3 members on leveldb stay linearizable and lose nothing under kill -9', async (t) => {
  t.timeout(90_000);
  await chaos(t, { members: 3, engine: 'leveldb', faultMs: 15_000, nemeses: ['kill'] });
});
