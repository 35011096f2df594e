// `cairn serve` lifecycle through the node-process helper: shutdown, crash and restart.
import test from 'ava';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startNodeProcess } from '../helpers/node-process.js';

test('SIGTERM shuts down cleanly; data survives a restart on the same dir and port', async (t) => {
  const node = await startNodeProcess();
  try {
    const address = node.address;
    t.is((await runCli(['put', 'k', 'v', '--endpoints', address])).code, 0);
    t.is(await node.stop(), 0);
    await node.restart();
    t.is(node.address, address);
    t.is((await runCli(['get', 'k', '--endpoints', address])).stdout, 'k\nv\n');
  } finally {
    await node.cleanup();
  }
});

test('data written before a SIGKILL is there after restart', async (t) => {
  const node = await startNodeProcess();
  try {
    t.is((await runCli(['put', 'crash', 'safe', '--endpoints', node.address])).code, 0);
    await node.kill();
    await node.restart();
    t.is((await runCli(['get', 'crash', '--endpoints', node.address])).stdout, 'crash\nsafe\n');
  } finally {
    await node.cleanup();
  }
});

test('a raft log memory bound below one request is refused at start, naming both flags', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-serve-bound-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await runCli(['serve', '--data-dir', dir, '--listen', '127.0.0.1:0', '--max-raft-log-memory-bytes', '1000000']);
  t.not(r.code, 0);
  t.regex(r.stderr, /--max-raft-log-memory-bytes \(1000000\) must be at least --max-request-bytes \(1572864\)/);
  t.deepEqual(await readdir(dir), [], 'nothing was created');
});
