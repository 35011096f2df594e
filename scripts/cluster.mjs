#!/usr/bin/env node
// `npm run cluster`: a three-member local cluster on 127.0.0.1:7001-7003, data in
// ./cluster-data/n1..n3. Ctrl-C stops all three (each shuts down gracefully).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const members = [1, 2, 3].map((i) => ({ name: `n${i}`, address: `127.0.0.1:${7000 + i}` }));
const initialCluster = members.map((m) => `${m.name}=${m.address}`).join(',');
const extra = process.argv.slice(2);
// One token per cluster, chosen at its first start and reused after (the members' data dirs
// remember it and refuse another), so this cluster's id differs from every other n1..n3 one.
const tokenFile = path.join('cluster-data', 'initial-cluster-token');
if (!existsSync(tokenFile)) {
  mkdirSync('cluster-data', { recursive: true });
  writeFileSync(tokenFile, `local-${randomBytes(8).toString('hex')}\n`);
}
const token = readFileSync(tokenFile, 'utf8').trim();

const children = members.map((m) => {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin', 'cairn.js'),
      'serve',
      '--name',
      m.name,
      '--listen',
      m.address,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-token',
      token,
      '--data-dir',
      path.join('cluster-data', m.name),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const prefix = (line) => `[${m.name}] ${line}`;
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8').on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(prefix(line) + '\n');
    });
  }
  child.on('exit', (code, signal) => process.stdout.write(prefix(`exited (${code ?? signal})\n`)));
  return child;
});

process.stdout.write(`cluster: ${initialCluster}\ntry: CAIRN_ENDPOINTS=${members.map((m) => m.address).join(',')} npx cairn status\n`);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
};
process.on('SIGINT', stop).on('SIGTERM', stop);
await Promise.all(children.map((c) => new Promise((resolve) => c.once('exit', resolve))));
