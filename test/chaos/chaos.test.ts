/**
 * Bounded chaos runs for `npm test`: real 3-member clusters under kill -9, SIGSTOP,
 * partitions and membership changes with a concurrent workload, checked for linearizability, durability,
 * monotonic revisions, watch continuity and convergence (see harness/run-chaos.ts).
 * One random base seed per file run is logged; each run's seed derives from it and the
 * run's title, so CHAOS_SEED=<base> replays every schedule of the file. A failing run is
 * saved under .chaos-runs/<timestamp>/. Longer runs: `npm run chaos -- --help`.
 *
 * Nothing here gates on a rate: faults start after a number of successful operations,
 * however long that takes on a busy machine (within a generous bound), and every wait
 * is bounded only to stop a run that is stuck.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSeed, deriveSeed } from './harness/rng.js';
import { describeOutcomes, runChaos, type ChaosOptions } from './harness/run-chaos.js';

const BASE_SEED = baseSeed();
/** A last resort: each step of a run has its own bound (see harness/run-chaos.ts). */
const RUN_TIMEOUT_MS = 600_000;

async function chaos(t: ExecutionContext, options: Omit<ChaosOptions, 'seed' | 'log'>): Promise<void> {
  const s = deriveSeed(BASE_SEED, t.title);
  t.log(`base seed ${BASE_SEED} (CHAOS_SEED=${BASE_SEED} replays every run in this file); this run's seed ${s}`);
  const result = await runChaos({ ...options, seed: s, log: (line) => t.log(line) });
  const sum = result.summary;
  t.log(`${describeOutcomes(sum)}; warm-up ${sum.warmupOkOps} ok ops in ${sum.warmupMs} ms; final revision ${sum.finalRevision}`);
  t.log(`by kind: ${JSON.stringify(sum.byKind)}`);
  t.log(`faults: ${sum.faults.map((f) => `${(f.at / 1000).toFixed(1)}s ${f.what}`).join('; ')}`);
  t.log(`checker: ${sum.linearizability.verdict} in ${sum.linearizability.ms} ms; ${sum.watchers}`);
  t.log(`leases: ${sum.leases}`);
  t.true(
    result.passed,
    `chaos run failed (CHAOS_SEED=${BASE_SEED}, run seed ${s}, saved to ${result.artifacts}):\n${result.problems.join('\n')}`,
  );
}

test.serial('3 members on rocksdb stay linearizable and lose nothing under kill, pause and partition', async (t) => {
  t.timeout(RUN_TIMEOUT_MS);
  await chaos(t, { members: 3, engine: 'rocksdb', faultMs: 35_000, nemeses: ['kill', 'pause', 'partition'] });
});

test.serial(
  'membership changes (add a learner, promote it, remove a voter or the leader, re-add) under kill, pause and partition',
  async (t) => {
    t.timeout(RUN_TIMEOUT_MS);
    await chaos(t, { members: 3, engine: 'rocksdb', faultMs: 40_000, nemeses: ['kill', 'pause', 'partition', 'membership'] });
  },
);

test.serial('3 members on leveldb stay linearizable and lose nothing under kill -9', async (t) => {
  t.timeout(RUN_TIMEOUT_MS);
  await chaos(t, { members: 3, engine: 'leveldb', faultMs: 15_000, nemeses: ['kill'] });
});

test.serial('a run that does too little before the faults fails and keeps its evidence', async (t) => {
  t.timeout(RUN_TIMEOUT_MS);
  const root = await mkdtemp(join(tmpdir(), 'cairn-chaos-artifacts-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const result = await runChaos({
    members: 3,
    engine: 'rocksdb',
    faultMs: 1_000,
    nemeses: ['kill'],
    seed: 1,
    warmupOkOps: 1_000_000,
    warmupLimitMs: 1_000,
    artifactsRoot: root,
  });
  t.false(result.passed);
  t.regex(result.problems.join('\n'), /only \d+ ok ops in [\d.]+ s before the faults \(need 1000000\): the run proves nothing/);
  t.is(result.summary.faults.length, 0, 'no faults after a failed warm-up');
  const dir = result.artifacts!;
  for (const file of ['summary.json', 'history.json', 'watchers.json', 'n1.log', 'n2.log', 'n3.log'])
    t.true(existsSync(join(dir, file)), file);
  t.true(existsSync(join(dir, 'data', 'n1')));
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as { problems: string[]; seed: number };
  t.is(summary.seed, 1);
  t.is(summary.problems.length, result.problems.length);
});
