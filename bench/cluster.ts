/**
 * `npm run bench:cluster`: starts a fresh three-member cluster on loopback and measures it
 * with load spread over several client processes (one per member by default, each with its
 * own connections): puts of 256-byte values, then linearizable and serializable single-key
 * reads. Histograms from every process are merged, so the percentiles are exact.
 *
 *   npm run bench:cluster -- --procs 3 --clients 32 --duration 15s
 */
import { spawn } from 'node:child_process';
import * as hdr from 'hdr-histogram-js';
import { CAIRN_BIN } from '../test/helpers/node-process.js';
import { startClusterProcesses } from '../test/helpers/cluster-process.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const procs = Number(flag('procs', '3'));
const clientsPerProc = Number(flag('clients', '32'));
const duration = flag('duration', '15s');
const engine = flag('engine', 'rocksdb');

interface ProcResult {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  opsPerSec: number;
  histogram: string;
}

function runProc(args: string[]): Promise<ProcResult> {
  const child = spawn(process.execPath, [CAIRN_BIN, ...args, '-o', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out) as ProcResult);
      } catch {
        reject(new Error(`cairn ${args.join(' ')} exited ${code} with ${out}`));
      }
    }),
  );
}

async function phase(label: string, endpoints: string[], args: string[]): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: procs }, (_, i) =>
      runProc([
        'bench',
        ...args,
        '--endpoints',
        endpoints[i % endpoints.length]!,
        '--clients',
        String(clientsPerProc),
        '--connections',
        '4',
        '--duration',
        duration,
      ]),
    ),
  );
  const merged = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });
  for (const r of results) {
    const h = hdr.decodeFromCompressedBase64(r.histogram);
    merged.add(h);
    h.destroy();
  }
  const ms = (us: number): string => (Math.min(us, merged.maxValue) / 1000).toFixed(2);
  const throughput = results.reduce((sum, r) => sum + r.opsPerSec, 0);
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  console.log(
    `${label.padEnd(22)} ${throughput.toFixed(0).padStart(7)} ops/s   p50 ${ms(merged.getValueAtPercentile(50))} ms   p99 ${ms(merged.getValueAtPercentile(99))} ms   ` +
      `max ${ms(merged.maxValue)} ms   errors ${errors}   (${procs} processes x ${clientsPerProc} clients)` +
      (firstError === undefined ? '' : `\n${''.padEnd(23)}first error: ${firstError}`),
  );
  merged.destroy();
}

const cluster = await startClusterProcesses(3, ['--engine', engine, '--log-level', 'warn']);
try {
  await cluster.waitForLeader();
  console.log(`three members (${engine}) on ${cluster.endpoints.join(', ')}; each phase runs ${duration}`);
  await phase('put (256 B)', cluster.endpoints, ['put', '--value-size', '256']);
  await phase('range linearizable', cluster.endpoints, ['range', '--key-space', '1000']);
  await phase('range serializable', cluster.endpoints, ['range', '--key-space', '1000', '--serializable']);
} finally {
  await cluster.cleanup();
}
