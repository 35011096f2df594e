/**
 * `npm run bench`: starts a fresh single node (temp data dir, free loopback port), runs
 * `cairn bench put` (64 clients, 256-byte values) and `cairn bench range` (linearizable
 * single-key gets), prints the figures, then stops the node and removes its data.
 * Extra arguments go to both benchmarks, e.g. `npm run bench -- --duration 20s -o json`.
 * Default: 20 s each (100k requests would take minutes on a slow disk).
 */
import { spawn } from 'node:child_process';
import { CAIRN_BIN, startNodeProcess } from '../test/helpers/node-process.js';

const extra = process.argv.slice(2);
const sized = extra.includes('--total') || extra.includes('--duration') ? [] : ['--duration', '20s'];

function cairn(args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [CAIRN_BIN, ...args], { stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

const node = await startNodeProcess();
let failed = false;
try {
  console.log(`node ${node.pid} serving on ${node.address}, data in ${node.dataDir}`);
  const common = ['--endpoints', node.address, '--clients', '64', ...sized, ...extra];
  for (const args of [
    ['bench', 'put', '--value-size', '256', ...common],
    ['bench', 'range', ...common],
  ]) {
    console.log(`\n$ cairn ${args.join(' ')}`);
    if ((await cairn(args)) !== 0) failed = true;
  }
} finally {
  const code = await node.stop();
  await node.cleanup();
  console.log(`\nnode stopped (exit ${code}), data removed`);
}
process.exit(failed ? 1 : 0);
