// Backups end to end, with real processes: `cairn snapshot save` from a live 3-member
// cluster under a write load, `cairn snapshot restore` into a new data dir, the restored
// member served, and its data compared with the original's at the snapshot's revision.
import test, { type ExecutionContext } from 'ava';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceClient, type HashKVResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import type { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { freePort, startClusterProcesses, type ClusterProcesses } from '../helpers/cluster-process.js';
import { Members } from '../helpers/member-clients.js';
import { b, Kv } from '../helpers/grpc-clients.js';
import { runCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

const PRELOAD_KEYS = 3000;
const TXN_PUTS = 100;

function kvOf(address: string): Kv {
  return new Kv(new KVServiceClient(address, credentials.createInsecure()));
}

/** Every key, value and revision triple visible at `revision`, in key order. */
async function everything(kv: Kv, revision: number): Promise<KeyValue[]> {
  const res = await kv.range({ key: b('\0'), rangeEnd: b('\0'), revision, serializable: true });
  return res.kvs;
}

/** Puts through a member until stopped; counts what was acknowledged. */
class WriteLoad {
  acked = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(kv: Kv) {
    this.done = (async () => {
      for (let i = 0; !this.stopped; i++) {
        // Overwrites and deletes too, so that the history has more than one version per key.
        if (i % 7 === 6) await kv.deleteRange({ key: b(`load/${i % 50}`) });
        else await kv.set(`load/${i % 50}`, `value-${i}-${randomBytes(4).toString('hex')}`);
        this.acked++;
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/**
 * Retries a call while the member answers that it is not ready yet (no leader, a learner
 * still catching up, a revision not applied yet); bounded only to stop a stuck test.
 */
async function retryWhileNotReady<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as ServiceError).code;
      const retryable = [status.UNAVAILABLE, status.FAILED_PRECONDITION, status.OUT_OF_RANGE, status.DEADLINE_EXCEEDED].includes(code);
      if (!retryable || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function cli(t: ExecutionContext, args: string[]): Promise<string> {
  const r = await runCli(args);
  if (r.code !== 0) t.fail(`cairn ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

let cluster: ClusterProcesses | undefined;
let restored: NodeProcess | undefined;
let joined: NodeProcess | undefined;
let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-backup-'));
});
test.after.always(async () => {
  await joined?.cleanup();
  await restored?.cleanup();
  await cluster?.cleanup();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test.serial('a snapshot saved under load restores into a new member that holds exactly the data at its revision', async (t) => {
  cluster = await startClusterProcesses(3);
  await cluster.waitForLeader();
  const [n1, n2] = [cluster.members[0]!, cluster.members[1]!];
  const kv = kvOf(n1.address);
  // History worth copying: many keys, overwritten, some deleted, some history compacted.
  for (let start = 0; start < PRELOAD_KEYS; start += TXN_PUTS) {
    const puts = Array.from({ length: TXN_PUTS }, (_, i) => ({
      request: { $case: 'requestPut' as const, requestPut: { key: b(`pre/${start + i}`), value: randomBytes(256) } },
    }));
    await kv.txn({ success: puts });
  }
  await kv.deleteRange({ key: b('pre/1'), rangeEnd: b('pre/2') });
  const compactAt = await kv.revision();
  await kv.set('pre/0', 'after-compaction');
  await kv.compact({ revision: compactAt, physical: true });

  const load = new WriteLoad(kvOf(n2.address));
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (load.acked >= 20) resolve(clearInterval(check));
    }, 20);
  });
  const file = join(dir, 'backup.snap');
  const ackedBefore = load.acked;
  const saved = JSON.parse(await cli(t, ['snapshot', 'save', file, '--endpoints', n1.address, '-o', 'json'])) as {
    revision: number;
    bytes: number;
    sha256: string;
  };
  const ackedDuring = load.acked - ackedBefore;
  await load.stop();
  t.log(`saved revision ${saved.revision}, ${saved.bytes} bytes; ${ackedDuring} writes acknowledged while saving`);
  t.true(ackedDuring > 0, 'the save ran while writes were being acknowledged');
  t.false(existsSync(`${file}.part`));
  t.true(saved.revision > compactAt);

  const status = JSON.parse(await cli(t, ['snapshot', 'status', file, '-o', 'json'])) as {
    revision: number;
    keys: number;
    sha256: string;
    compactedRevision: number;
  };
  t.is(status.revision, saved.revision);
  t.is(status.sha256, saved.sha256);
  t.is(status.compactedRevision, compactAt);

  const original = await everything(kv, saved.revision);
  t.is(status.keys, original.length);
  const originalHash = await n1.hashKv(saved.revision);

  const dataDir = join(dir, 'restored');
  await cli(t, ['snapshot', 'restore', file, '--data-dir', dataDir, '--name', 'r1', '--address', '127.0.0.1:0']);
  restored = await startNodeProcess({ dataDir, args: ['--name', 'r1'] });
  const copy = kvOf(restored.address);
  t.is(await copy.revision(), saved.revision, 'the restored member starts at the snapshot revision');
  const restoredKvs = await everything(copy, saved.revision);
  t.is(restoredKvs.length, original.length);
  t.deepEqual(restoredKvs, original, 'every key, value, create/mod revision, version and lease');
  const maintenance = new MaintenanceServiceClient(restored.address, credentials.createInsecure());
  const restoredHash = await new Promise<HashKVResponse>((resolve, reject) =>
    maintenance.hashKv({ revision: saved.revision }, (err, res) => (err ? reject(err) : resolve(res))),
  );
  maintenance.close();
  t.is(restoredHash.hash, originalHash.hash);
  t.is(restoredHash.keys, originalHash.keys);
  // Compacted history stays compacted; the history kept since is readable.
  await t.throwsAsync(copy.range({ key: b('pre/0'), revision: compactAt - 1 }), { message: /compacted/ });
  t.deepEqual(
    (await copy.get('pre/0', { revision: compactAt })).kvs[0]?.value,
    (await kv.get('pre/0', { revision: compactAt })).kvs[0]?.value,
  );

  // A new cluster: its own id, and writes continue from the snapshot's revision.
  const put = await copy.set('after/restore', 'yes');
  t.is(put.header?.revision, saved.revision + 1);
  t.not(put.header?.clusterId, (await kv.get('pre/0')).header?.clusterId);

  // It grows like any cluster: a member added and started with --join receives the store from r1.
  const members = new Members(restored.address);
  t.teardown(() => members.close());
  const joinAddress = `127.0.0.1:${await freePort()}`;
  await retryWhileNotReady(() => members.add('r2', joinAddress));
  joined = await startNodeProcess({ dataDir: join(dir, 'r2'), listen: joinAddress, args: ['--name', 'r2', '--join', restored.address] });
  const joinedHash = await retryWhileNotReady(async () => {
    const m = new MaintenanceServiceClient(joinAddress, credentials.createInsecure());
    try {
      return await new Promise<HashKVResponse>((resolve, reject) =>
        m.hashKv({ revision: saved.revision }, (err, res) => (err ? reject(err) : resolve(res))),
      );
    } finally {
      m.close();
    }
  });
  t.is(joinedHash.hash, originalHash.hash, 'the joined member holds the restored data');

  // Refused: a flipped byte and a cut-off file, with nothing created.
  const bytes = await readFile(file);
  const flipped = Buffer.from(bytes);
  flipped[Math.floor(flipped.length / 2)]! ^= 0x40;
  await writeFile(join(dir, 'flipped.snap'), flipped);
  await writeFile(join(dir, 'truncated.snap'), bytes.subarray(0, bytes.length - 100));
  await writeFile(join(dir, 'digest-flipped.snap'), Buffer.concat([bytes.subarray(0, -1), Buffer.from([bytes.at(-1)! ^ 1])]));
  for (const name of ['flipped.snap', 'truncated.snap', 'digest-flipped.snap']) {
    const target = join(dir, `from-${name}`);
    const r = await runCli(['snapshot', 'restore', join(dir, name), '--data-dir', target, '--name', 'x']);
    t.is(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, /not restored: .* is damaged/, name);
    t.false(existsSync(target), `${name}: no data dir is left behind`);
  }
  // A data dir in use is never overwritten.
  const busy = await runCli(['snapshot', 'restore', file, '--data-dir', cluster.members[2]!.process.dataDir, '--name', 'x']);
  t.is(busy.code, 1);
  t.regex(busy.stderr, /is not empty/);
});

test.serial('check hash agrees on a healthy cluster and prints every member', async (t) => {
  const c = cluster ?? (await startClusterProcesses(3));
  cluster = c;
  await c.waitForConvergence();
  const r = await runCli(['check', 'hash', '--endpoints', c.endpoints.join(',')]);
  t.is(r.code, 0, r.stderr);
  for (const m of c.members) t.true(r.stdout.includes(m.address), r.stdout);
  t.regex(r.stdout, /all 3 members agree at revision \d+/);
});
