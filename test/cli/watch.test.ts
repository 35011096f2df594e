// `cairn watch` as a long-running process observing changes made by other processes.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { runCli, spawnCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

let node: NodeProcess;
test.before(async () => {
  node = await startNodeProcess();
});
test.after.always(async () => {
  await node?.cleanup();
});

const cli = async (...args: string[]) => {
  const r = await runCli([...args, '--endpoints', node.address]);
  if (r.code !== 0) throw new Error(`cairn ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
/** The revision in a `-o json` write response. */
const revisionOf = (json: string): number => (JSON.parse(json) as { header: { revision: number } }).header.revision;

/** A watch process whose stdout is collected; `until` waits for some output. */
function watch(...args: string[]) {
  const child: ChildProcess = spawnCli(['watch', ...args, '--endpoints', node.address]);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const until = async (pred: (out: string) => boolean, ms = MIN_WAIT_MS): Promise<string> => {
    const end = Date.now() + ms;
    while (!pred(stdout)) {
      if (Date.now() > end) throw new Error(`watch output so far: ${JSON.stringify(stdout)}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return stdout;
  };
  return { child, exit, until, stderr: () => stderr };
}

/** Puts from other processes until the watcher saw something: the watch may not be created yet. */
async function putUntilSeen(w: ReturnType<typeof watch>, key: string, value: string): Promise<void> {
  for (let i = 0; i < 50 && !w.child.exitCode; i++) {
    await cli('put', key, value);
    try {
      await w.until((out) => out.includes(`${value}\n`), 200);
      return;
    } catch {
      // not created yet; put again
    }
  }
  await w.until((out) => out.includes(`${value}\n`));
}

test('prints PUT and DELETE events made by another process; SIGINT exits 0', async (t) => {
  const w = watch('w1/', '--prefix');
  await putUntilSeen(w, 'w1/a', 'one');
  await cli('del', 'w1/a');
  // The whole event: output may arrive in pieces, e.g. 'DELETE\nw1/a' and then '\n'.
  const out = await w.until((o) => o.includes('DELETE\nw1/a\n'));
  t.true(out.startsWith('PUT\nw1/a\none\n'));
  t.true(out.endsWith('DELETE\nw1/a\n'));
  w.child.kill('SIGINT');
  t.is(await w.exit, 0);
});

test('--rev replays history, with --prev-kv and -o json', async (t) => {
  const rev = revisionOf(await cli('put', 'w2/k', 'a', '-o', 'json'));
  await cli('put', 'w2/k', 'b');
  await cli('del', 'w2/k');
  const w = watch('w2/k', '--rev', String(rev), '--prev-kv', '-o', 'json');
  const out = await w.until((o) => o.split('\n').length > 3);
  w.child.kill('SIGINT');
  const events = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; kv: unknown });
  t.deepEqual(
    events.map((e) => e.type),
    ['PUT', 'PUT', 'DELETE'],
  );
  // Keys and values are base64 in JSON, as etcdctl's.
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  t.like(events[0]!.kv, { key: b64('w2/k'), value: b64('a'), modRevision: rev });
  t.like(events[1], { kv: { value: b64('b') }, prevKv: { value: b64('a') } });
  t.like(events[2], { kv: { key: b64('w2/k') }, prevKv: { value: b64('b') } });
  t.is(await w.exit, 0);
});

test('--no-put keeps only deletes', async (t) => {
  const rev = revisionOf(await cli('put', 'w3/k', 'a', '-o', 'json'));
  await cli('del', 'w3/k');
  const w = watch('w3/k', '--rev', String(rev), '--no-put');
  const out = await w.until((o) => o.includes('DELETE\nw3/k\n'));
  w.child.kill('SIGINT');
  t.is(out, 'DELETE\nw3/k\n');
  await w.exit;
});

// Serial tests run before the others, so compaction cannot hide the history they replay.
test.serial('a compacted start revision cancels the watch with a clear error', async (t) => {
  const old = revisionOf(await cli('put', 'w4/k', 'a', '-o', 'json'));
  const now = revisionOf(await cli('put', 'w4/k', 'b', '-o', 'json'));
  await cli('compact', String(now));
  const w = watch('w4/k', '--rev', String(old));
  const code = await w.exit;
  t.is(code, 1);
  t.regex(w.stderr(), new RegExp(`watch canceled: revision ${old} was compacted; the oldest available is \\d+`));
});

test('--progress-notify prints progress lines at the node interval', async (t) => {
  const fast = await startNodeProcess({ args: ['--watch-progress-interval', '200'] });
  try {
    const child = spawnCli(['watch', 'w5/k', '--progress-notify', '-o', 'json', '--endpoints', fast.address]);
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    // Two whole lines, however long they take (each is due 200 ms after the previous).
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`progress lines so far: ${JSON.stringify(stdout)}`)), MIN_WAIT_MS);
      const check = (): void => {
        if (stdout.split('\n').length < 3) return;
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      };
      child.stdout!.on('data', check);
    });
    child.kill('SIGINT');
    t.is(await exit, 0);
    const first = JSON.parse(stdout.split('\n')[0]!) as { type: string; revision: unknown };
    t.is(first.type, 'PROGRESS');
    t.is(typeof first.revision, 'number');
  } finally {
    await fast.cleanup();
  }
});
