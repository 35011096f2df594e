/**
 * Bounded chaos runs for `npm test`: real 3-member clusters under kill -9, SIGSTOP and
 * partitions with a concurrent workload, checked for linearizability, durability,
 * monotonic revisions, watch continuity and convergence (see harness/run-chaos.ts).
 * The nemesis seed is random and logged; CHAOS_SEED=<n> replays a schedule. A failing run
 * is saved under .chaos-runs/<timestamp>/. Longer runs: `npm run chaos -- --help`.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test.serial('a run that does too little before the faults fails and keeps its evidence', async (t) => {
  t.timeout(60_000);
  const root = await mkdtemp(join(tmpdir(), 'cairn-chaos-artifacts-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const result = await runChaos({
    members: 3,
    engine: 'rocksdb',
    faultMs: 1_000,
    nemeses: ['kill'],
    seed: 1,
    warmupMs: 1_000,
    minOkOpsPerSec: 1_000_000,
    artifactsRoot: root,
  });
  t.false(result.passed);
  t.regex(result.problems.join('\n'), /ok ops\/s before the faults \(need 1000000\): the run proves nothing/);
  t.is(result.summary.faults.length, 0, 'no faults after a failed warm-up');
  const dir = result.artifacts!;
  for (const file of ['summary.json', 'history.json', 'watchers.json', 'n1.log', 'n2.log', 'n3.log'])
    t.true(existsSync(join(dir, file)), file);
  t.true(existsSync(join(dir, 'data', 'n1')));
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as { problems: string[]; seed: number };
  t.is(summary.seed, 1);
  t.is(summary.problems.length, result.problems.length);
});
