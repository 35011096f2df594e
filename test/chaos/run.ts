/**
 * Long chaos runs from the command line:
 *
 *   npm run chaos -- --members 5 --minutes 10 --nemesis kill,pause,partition [--engine leveldb] [--seed BASE] [--runs K]
 *   npm run chaos -- --help
 *
 * Runs through tsx (no build step for the harness; the cluster members run the compiled
 * CLI, so build first: `npx tsc -p .`). Exits 1 when any run fails; failing runs are saved
 * under .chaos-runs/<timestamp>/.
 */
import { parseArgs } from 'node:util';
import { NEMESES, type NemesisKind } from './harness/nemesis.js';
import { describeOutcomes, runChaos } from './harness/run-chaos.js';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '3' },
    minutes: { type: 'string', default: '1' },
    nemesis: { type: 'string', default: 'kill,pause,partition' },
    engine: { type: 'string', default: 'rocksdb' },
    seed: { type: 'string' },
    runs: { type: 'string', default: '1' },
    clients: { type: 'string', default: '12' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    `npm run chaos -- [--members 3] [--minutes 1] [--nemesis ${NEMESES.join(',')}] [--engine rocksdb|leveldb] [--seed N] [--runs K] [--clients 12]`,
  );
  process.exit(0);
}

const nemeses = values.nemesis.split(',').map((n) => n.trim()) as NemesisKind[];
for (const n of nemeses)
  if (!(NEMESES as readonly string[]).includes(n)) throw new Error(`unknown nemesis ${n}; choose from ${NEMESES.join(', ')}`);
if (values.engine !== 'rocksdb' && values.engine !== 'leveldb') throw new Error(`unknown engine ${values.engine}`);
const engine = values.engine;

// One base seed, printed, from which every run's seed follows: --seed <base> replays them all.
const base = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
console.log(`base seed ${base} (--seed ${base} replays every run)`);
let failed = 0;
for (let run = 0; run < Number(values.runs); run++) {
  const seed = base + run;
  console.log(
    `chaos run ${run + 1}: seed ${seed}, ${values.members} members, ${engine}, nemeses ${nemeses.join(',')}, ${values.minutes} min`,
  );
  const result = await runChaos({
    members: Number(values.members),
    engine,
    faultMs: Number(values.minutes) * 60_000,
    nemeses,
    seed,
    clients: Number(values.clients),
    checkerTimeoutMs: 300_000,
    log: (line) => console.log(`  ${line}`),
  });
  const s = result.summary;
  console.log(`  ${describeOutcomes(s)}; warm-up ${s.warmupOkOps} ok ops in ${s.warmupMs} ms; final revision ${s.finalRevision}`);
  console.log(`  by kind: ${JSON.stringify(s.byKind)}`);
  console.log(`  faults: ${s.faults.map((f) => `${(f.at / 1000).toFixed(1)}s ${f.what}`).join('; ')}`);
  console.log(`  linearizability: ${s.linearizability.verdict} in ${s.linearizability.ms} ms; watchers: ${s.watchers}`);
  console.log(`  leases: ${s.leases}`);
  if (result.passed) console.log(`  PASSED in ${(s.wallMs / 1000).toFixed(0)} s`);
  else {
    failed++;
    console.log(`  FAILED (seed ${seed}); saved to ${result.artifacts}\n${result.problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
