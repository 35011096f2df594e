/**
 * Parameters shared by the fuzz targets: a bounded number of runs (so `npm test` stays quick)
 * and a seed that is printed and replays the run. fast-check also prints the seed and the
 * shrunk counterexample when a property fails.
 *
 *   FUZZ_SEED=<seed> npx ava test/fuzz/<file>.test.ts     replays a run
 *   FUZZ_RUNS=100000 npx ava test/fuzz/<file>.test.ts     fuzzes longer
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import type { Parameters } from 'fast-check';

const DEFAULT_RUNS = 300;

/** One seed per test, so that a test running several properties replays from one seed. */
const seeds = new WeakMap<ExecutionContext, number>();

export function fuzzParams<T>(t: ExecutionContext, testFileUrl: string, runs = DEFAULT_RUNS): Parameters<T> {
  const numRuns = process.env['FUZZ_RUNS'] !== undefined ? Number(process.env['FUZZ_RUNS']) : runs;
  let seed = seeds.get(t);
  if (seed === undefined) {
    const fromEnv = process.env['FUZZ_SEED'];
    seed = fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
    seeds.set(t, seed);
    const file = path.relative(process.cwd(), fileURLToPath(testFileUrl));
    t.log(`fuzz seed ${seed}; replay: FUZZ_SEED=${seed} npx ava ${file} --match '${t.title}'`);
  }
  return { seed, numRuns };
}

/** Mutations of valid bytes: flip, overwrite, truncate, extend, splice. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

export function mutate(valid: Uint8Array, m: Mutation): Buffer {
  const b = Buffer.from(valid);
  const at = (n: number): number => (b.length === 0 ? 0 : n % b.length);
  switch (m.kind) {
    case 'flip':
      if (b.length > 0) b[at(m.at)]! ^= 1 << m.bit;
      return b;
    case 'set':
      if (b.length > 0) b[at(m.at)] = m.value;
      return b;
    case 'truncate':
      return b.subarray(0, at(m.at));
    case 'append':
      return Buffer.concat([b, m.bytes]);
    case 'insert':
      return Buffer.concat([b.subarray(0, at(m.at)), m.bytes, b.subarray(at(m.at))]);
  }
}
