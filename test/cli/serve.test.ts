// `cairn serve` lifecycle through the node-process helper: shutdown, crash and restart.
import test from 'ava';
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
