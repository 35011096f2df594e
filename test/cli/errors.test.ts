// Exit codes and messages of bad usage and unreachable nodes; no node needed.
import test from 'ava';
import { runCli } from '../helpers/node-process.js';

test('bad flags and arguments exit 2 with a message', async (t) => {
  for (const args of [
    ['get', 'k', '--limit', 'zero'],
    ['get', 'k', '--sort-by', 'size'],
    ['get', 'k', '--no-such-flag'],
    ['get', 'k', 'z', '--prefix'],
    ['compact', '-1'],
    ['bench', 'scan'],
    ['serve', '--max-txn-ops', '0'],
    ['serve', '--max-key-bytes', '1.5'],
    ['serve', '--engine', 'sqlite'],
    ['nope'],
  ]) {
    const r = await runCli(args);
    t.is(r.code, 2, `cairn ${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /error|Error/, args.join(' '));
  }
});

test('--help exits 0', async (t) => {
  const r = await runCli(['get', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /--prefix/);
});

test('an unreachable endpoint is an UNAVAILABLE error, exit 1', async (t) => {
  // Nothing listens there: each endpoint fails at once, not after the 5 s dial timeout.
  const r = await runCli(['get', 'k', '--endpoints', '127.0.0.1:1,127.0.0.1:2']);
  t.is(r.code, 1);
  t.regex(r.stderr, /^Error: UNAVAILABLE: .*127\.0\.0\.1:1: connection failed, 127\.0\.0\.1:2: connection failed/m);
});
