/**
 * The resident memory of a Node process before any of Cairn's code (issue 9's memory target):
 * `node` alone, then with @grpc/grpc-js serving an empty server on a port, then also with an
 * empty RocksDB opened by @nxtedition/rocksdb, which is the least a member can be. Each step
 * runs in a fresh process and prints VmRSS after things settle.
 *
 *   node bench/runtime-memory-floor.mjs
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const steps = ['node', 'grpc', 'grpc+rocksdb'];

async function measure(step) {
  if (step !== 'node') {
    const { Server, ServerCredentials } = await import('@grpc/grpc-js');
    const server = new Server();
    await new Promise((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
  }
  if (step === 'grpc+rocksdb') {
    const dir = mkdtempSync(path.join(tmpdir(), 'cairn-floor-'));
    const { RocksLevel } = await import('@nxtedition/rocksdb');
    const db = new RocksLevel(path.join(dir, 'db'));
    await db.open();
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1];
  console.log(`${step.padEnd(14)} RSS ${(Number(rss) / 1024).toFixed(1)} MiB`);
  process.exit(0);
}

if (process.argv[2] !== undefined) await measure(process.argv[2]);
else for (const step of steps) spawnSync(process.execPath, [process.argv[1], step], { stdio: 'inherit' });
