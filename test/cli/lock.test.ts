// `cairn lock` and `cairn elect` as real processes, and their interplay with the SDK's
// Mutex: both use the same keys (<name>/<lease hex>), so they exclude each other.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { CairnClient, Mutex } from '../../sdk/typescript/src/index.js';
import { runCli, spawnCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS, waitUntil } from '../helpers/wait.js';

let node: NodeProcess;
let client: CairnClient;
test.before(async () => {
  node = await startNodeProcess();
  client = new CairnClient({ endpoints: [node.address], callTimeoutMs: 15_000 });
});
test.after.always(async () => {
  client?.close();
  await node?.cleanup();
});

/** A long-running cairn command whose output is collected. */
function spawned([command, ...args]: string[]) {
  // The flag goes before the arguments: after `--` it would be the locked command's.
  const child: ChildProcess = spawnCli([command!, '--endpoints', node.address, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    exit,
    stdout: () => stdout,
    stderr: () => stderr,
    until: (pattern: RegExp) =>
      waitUntil(
        () => pattern.test(stdout),
        MIN_WAIT_MS,
        () => `no ${pattern} in ${JSON.stringify(stdout)}; stderr: ${stderr}`,
      ),
  };
}

/** Resolves once `count` keys are queued under `name/` (by watching, not polling). */
async function queued(name: string, count: number): Promise<void> {
  const now = await client.getPrefix(`${name}/`);
  if (now.count >= count) return;
  let n = now.count;
  for await (const batch of client.watch(`${name}/`, { prefix: true, startRevision: now.revision + 1n })) {
    for (const e of batch.events) n += e.type === 'put' ? 1 : -1;
    if (n >= count) return;
  }
}

test('lock runs the command with the key and fencing token in its environment, passes on its exit code, releases', async (t) => {
  const r = await runCli([
    'lock',
    'cli-lock',
    '--endpoints',
    node.address,
    '--',
    'sh',
    '-c',
    'echo "$CAIRN_LOCK_KEY $CAIRN_LOCK_TOKEN"; exit 7',
  ]);
  t.is(r.code, 7, r.stderr);
  const match = /^(cli-lock\/[0-9a-f]+) (\d+)\n$/.exec(r.stdout);
  t.truthy(match, r.stdout);
  t.is((await client.getPrefix('cli-lock/')).count, 0, 'released');
  const lease = parseInt(match![1]!.split('/')[1]!, 16);
  t.is((await client.lease.timeToLive(lease)).ttl, -1, 'its session was revoked');
});

test('a CLI lock waits for an SDK mutex of the same name, and the other way round', async (t) => {
  const session = await client.session({ ttl: 30 });
  t.teardown(() => session.close());
  const mutex = new Mutex(session, 'shared');
  const sdkToken = await mutex.lock();

  const cli = spawned(['lock', 'shared', '--', 'sh', '-c', 'echo "token $CAIRN_LOCK_TOKEN"']);
  await queued('shared', 2);
  t.is(cli.stdout(), '', 'the CLI does not run its command while the SDK holds the lock');
  await mutex.unlock();
  t.is(await cli.exit, 0);
  const cliToken = Number(/^token (\d+)\n$/.exec(cli.stdout())?.[1]);
  t.true(cliToken > sdkToken);

  // Now the CLI holds (without a command: it prints the key and holds until interrupted).
  const holder = spawned(['lock', 'shared']);
  await holder.until(/^shared\/[0-9a-f]+\n$/);
  let sdkHolds = false;
  const locking = mutex.lock().then((token) => {
    sdkHolds = true;
    return token;
  });
  await queued('shared', 2);
  t.false(sdkHolds);
  holder.child.kill('SIGINT');
  t.is(await holder.exit, 0);
  t.true((await locking) > cliToken);
  await mutex.unlock();
});

test('elect campaigns and prints the leader; --listen prints each leader; an interrupted leader resigns', async (t) => {
  const listener = spawned(['elect', 'cli-election', '--listen']);
  t.teardown(() => void listener.child.kill('SIGKILL'));
  const first = spawned(['elect', 'cli-election', 'one']);
  await first.until(/^cli-election\/[0-9a-f]+\none\n$/);
  await listener.until(/^cli-election\/[0-9a-f]+\none\n$/);
  const second = spawned(['elect', 'cli-election', 'two']);
  await queued('cli-election', 2);
  t.is(second.stdout(), '');
  first.child.kill('SIGINT');
  t.is(await first.exit, 0);
  await second.until(/^cli-election\/[0-9a-f]+\ntwo\n$/);
  await listener.until(/\ntwo\n$/);
  t.not(second.stdout().split('\n')[0], first.stdout().split('\n')[0]);
  second.child.kill('SIGTERM');
  t.is(await second.exit, 0);
  listener.child.kill('SIGINT');
  t.is(await listener.exit, 0);
  t.is(
    listener
      .stdout()
      .split('\n')
      .filter((l) => l === 'one' || l === 'two')
      .join(','),
    'one,two',
  );
});

test('elect needs a value or --listen, not both', async (t) => {
  t.is((await runCli(['elect', 'x', '--endpoints', node.address])).code, 2);
  t.is((await runCli(['elect', 'x', 'v', '--listen', '--endpoints', node.address])).code, 2);
});

test('lock: when its session is lost while the command runs, the command gets SIGTERM and lock fails', async (t) => {
  const cli = spawned(['lock', 'cli-lost', '--ttl', '3', '--', 'sh', '-c', 'echo "$CAIRN_LOCK_KEY"; exec sleep 60']);
  await cli.until(/^cli-lost\/[0-9a-f]+\n$/);
  const lease = parseInt(cli.stdout().trim().split('/')[1]!, 16);
  await client.lease.revoke(lease);
  t.is(await cli.exit, 1);
  t.regex(cli.stderr(), /session lost/);
});
