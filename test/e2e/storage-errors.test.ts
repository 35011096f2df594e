/**
 * Storage errors are named, with the path and the fix (issue 11), on real processes and
 * real file systems (the tests mount, so they run as root, as CI does):
 * - a data dir on a read-only file system is refused at start, and starts again with every
 *   write once writable;
 * - a disk that fills up under writes stops the member (fail-stop) with a message saying
 *   so, and once there is space it starts again with every acknowledged write.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import test from 'ava';
import { KVServiceClient, PutRequest } from '../../gen/ts/cairn/v1/kv.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { acknowledgedPuts, readAll, type Ack } from '../storage/damage-helpers.js';

function run(command: string, ...args: string[]): void {
  execFileSync(command, args, { stdio: 'pipe' });
}

/** Mounts `dir` read-only onto itself until the returned function is called. */
function readOnly(dir: string): () => void {
  run('mount', '--bind', dir, dir);
  run('mount', '-o', 'remount,ro,bind', dir);
  let mounted = true;
  return () => {
    if (mounted) run('umount', dir);
    mounted = false;
  };
}

test.serial('a data dir on a read-only file system is refused, naming the path and the fix; writable again, it starts whole', async (t) => {
  const node = await startNodeProcess({ args: ['--log-level', 'warn'] });
  t.teardown(() => node.cleanup());
  const acks = await acknowledgedPuts(node.address, 'k', 20);
  await node.stop();

  const release = readOnly(node.dataDir);
  t.teardown(release);
  const refused = await t.throwsAsync(startNodeProcess({ dataDir: node.dataDir, args: ['--log-level', 'warn'] }));
  const message = refused?.message ?? '';
  t.true(message.includes(node.dataDir), `the refusal names the data dir:\n${message}`);
  t.regex(message, /is not writable.*read-only file system.*give the user running cairn write access/is);

  release();
  await node.restart();
  const stored = await readAll(node.address);
  t.deepEqual(
    acks.filter((a) => stored.get(a.key) !== a.value),
    [],
    'every write is there once the data dir is writable again',
  );
});

test.serial('a new member whose data dir is not writable is refused, naming the path and the fix', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'cairn-readonly-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const release = readOnly(dataDir);
  t.teardown(release);
  const refused = await t.throwsAsync(startNodeProcess({ dataDir, args: ['--log-level', 'warn'] }));
  const message = refused?.message ?? '';
  t.true(message.includes(dataDir), `the refusal names the data dir:\n${message}`);
  t.regex(message, /is not writable.*read-only file system.*give the user running cairn write access/is);
});

const VALUE_BYTES = 100_000;

/** Puts distinct keys until one fails; returns the acknowledged ones. */
async function putUntilRefused(address: string): Promise<Ack[]> {
  const client = new KVServiceClient(address, credentials.createInsecure());
  const acks: Ack[] = [];
  try {
    // Bounded: an 8 MiB file system holds far fewer than this many 100 kB values.
    for (let i = 0; i < 1000; i++) {
      const key = `fill/${String(i).padStart(4, '0')}`;
      const value = `${key}:${'v'.repeat(VALUE_BYTES)}`;
      const ok = await new Promise<boolean>((resolve) =>
        client.put(
          PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from(value) }),
          new Metadata(),
          { deadline: Date.now() + 60_000 },
          (err: ServiceError | null) => resolve(err === null),
        ),
      );
      if (!ok) return acks;
      acks.push({ key, value });
    }
    throw new Error('the file system never filled up');
  } finally {
    client.close();
  }
}

test.serial('a full disk stops the member (fail-stop), saying so; with space again it starts with every acknowledged write', async (t) => {
  const mountPoint = await mkdtemp(path.join(tmpdir(), 'cairn-full-'));
  run('mount', '-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint);
  t.teardown(async () => {
    run('umount', mountPoint);
    await rm(mountPoint, { recursive: true, force: true });
  });
  const dataDir = path.join(mountPoint, 'data');
  await mkdir(dataDir);
  const node = await startNodeProcess({ dataDir, args: ['--log-level', 'warn'] });
  t.teardown(() => node.stop());
  const acks = await putUntilRefused(node.address);
  t.true(acks.length > 0, 'some writes fit before the disk filled');
  const code = await node.exited();
  t.is(code, 1, 'the member stopped itself');
  const output = node.output();
  t.true(output.includes(dataDir), `the message names the data dir:\n${output}`);
  t.regex(output, /No space left on device.*stopping the member \(fail-stop\).*free space on that file system/s);

  run('mount', '-o', 'remount,size=64m', mountPoint);
  await node.restart();
  const stored = await readAll(node.address);
  t.deepEqual(
    acks.filter((a) => stored.get(a.key) !== a.value).map((a) => a.key),
    [],
    `every one of the ${acks.length} acknowledged writes is there after the restart`,
  );
});
