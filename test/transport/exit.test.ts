// close() leaves nothing behind: a process that used the transport (streams, a peer in
// reconnect backoff, a snapshot mid-transfer) exits by itself once it closes it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const FIXTURE = fileURLToPath(new URL('./fixtures/exit-after-close.ts', import.meta.url));

test('a process exits on its own after closing its transport and server', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(killer);
  t.is(signal, null, `the process had to be killed; output:\n${out}`);
  t.is(code, 0, out);
  t.is(out.trim(), 'closed');
});
