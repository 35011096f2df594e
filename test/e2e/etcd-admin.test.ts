/**
 * etcd's Maintenance, Auth, Lock and Election services on a real member process, called with
 * grpc-js clients generated from etcd's protos: the fields and messages etcd's clients read.
 * Serial: each test starts its own member, and members starting at once overload a busy CI.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Permission_Type } from '../../gen/ts/etcd/api/authpb/auth.js';
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  Compare_CompareResult,
  Compare_CompareTarget,
  DowngradeRequest_DowngradeAction,
  PutRequest,
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type SnapshotResponse,
} from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { readBackupFile } from '../../server/backup/backup-file.js';
import { call, collect, etcdClients, failure, type EtcdClients } from '../helpers/etcd-admin-clients.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS, waitUntil } from '../helpers/wait.js';

const b = (s: string): Buffer => Buffer.from(s);

async function member(t: ExecutionContext): Promise<{ c: EtcdClients; address: string }> {
  const node = await startNodeProcess({ args: ['--log-level', 'info'] });
  const c = etcdClients(node.address);
  t.teardown(async () => {
    c.close();
    await node.cleanup();
  });
  return { c, address: node.address };
}

async function grant(c: EtcdClients, ttl: number): Promise<number> {
  return (await call(c.lease, 'leaseGrant', { ttl, id: 0 })).id;
}

test.serial('Status, alarms, HashKV, Hash and Downgrade answer as etcd clients expect', async (t) => {
  const { c } = await member(t);
  // "serving on" comes before the lone member's first election: wait for it to lead.
  let s = await call(c.maintenance, 'status', {});
  for (const deadline = Date.now() + MIN_WAIT_MS; s.leader === 0 || s.raftAppliedIndex === 0;) {
    if (Date.now() > deadline) throw new Error(`the member did not lead within ${MIN_WAIT_MS} ms: ${JSON.stringify(s)}`);
    s = await call(c.maintenance, 'status', {});
  }
  t.regex(s.version, /^3\.7\.3\+cairn\./);
  // etcd 3.7's storage version (its schema at the cluster's major.minor), which etcdctl 3.7 prints.
  t.is(s.storageVersion, '3.7.0');
  t.deepEqual(s.downgradeInfo, { enabled: false, targetVersion: '' });
  t.true(s.leader !== 0 && s.leader === s.header?.memberId, 'a lone member leads itself');
  t.true(s.raftIndex >= s.raftAppliedIndex && s.raftAppliedIndex > 0, JSON.stringify(s));
  t.true(s.raftTerm > 0 && s.dbSize > 0 && s.dbSizeInUse > 0);
  t.false(s.isLearner);
  t.deepEqual(s.errors, []);

  const self = s.header!.memberId;
  const lease = await grant(c, 30);
  await call(c.maintenance, 'alarm', { action: AlarmRequest_AlarmAction.ACTIVATE, memberID: self, alarm: AlarmType.NOSPACE });
  const listed = await call(c.maintenance, 'alarm', {
    action: AlarmRequest_AlarmAction.GET,
    memberID: 0,
    alarm: AlarmType.NONE,
  });
  t.deepEqual(listed.alarms, [{ memberID: self, alarm: AlarmType.NOSPACE }]);
  t.deepEqual((await call(c.maintenance, 'status', {})).errors, [`memberID:${self} alarm:NOSPACE`]);
  // Writes that add data are refused with etcd's message while NOSPACE is active.
  const refused = await failure(call(c.lock, 'lock', { name: b('quota'), lease }));
  t.is(refused.code, status.RESOURCE_EXHAUSTED);
  t.is(refused.details, 'etcdserver: mvcc: database space exceeded');
  const ended = await call(c.maintenance, 'alarm', {
    action: AlarmRequest_AlarmAction.DEACTIVATE,
    memberID: self,
    alarm: AlarmType.NOSPACE,
  });
  t.deepEqual(ended.alarms, [{ memberID: self, alarm: AlarmType.NOSPACE }]);
  t.deepEqual(
    (await call(c.maintenance, 'alarm', { action: AlarmRequest_AlarmAction.GET, memberID: 0, alarm: AlarmType.NONE })).alarms,
    [],
  );

  await call(c.kv, 'put', { key: b('h'), value: b('1'), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false });
  const hash1 = await call(c.maintenance, 'hashKv', { revision: 0 });
  t.true(hash1.hash >= 0 && hash1.hash < 2 ** 32 && hash1.hashRevision > 0);
  t.is((await call(c.maintenance, 'hashKv', { revision: hash1.hashRevision })).hash, hash1.hash);
  const future = await failure(call(c.maintenance, 'hashKv', { revision: hash1.hashRevision + 100 }));
  t.is(future.details, 'etcdserver: mvcc: required revision is a future revision');

  // Hash: a digest of the store's content (not etcd's bbolt hash), at the current revision.
  const before = await call(c.maintenance, 'hash', {});
  t.true(before.hash >= 0 && before.hash < 2 ** 32);
  t.is(before.header!.revision, hash1.hashRevision);
  t.not(before.hash, hash1.hash, "not HashKV's value");
  t.is((await call(c.maintenance, 'hash', {})).hash, before.hash, 'nothing changed, same hash');
  const rewrite = await call(c.kv, 'put', { key: b('h'), value: b('2'), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false });
  const after = await call(c.maintenance, 'hash', {});
  t.is(after.header!.revision, rewrite.header!.revision);
  t.not(after.hash, before.hash);

  // Downgrade: as an etcd that has no version to go down to.
  const { VALIDATE, ENABLE, CANCEL } = DowngradeRequest_DowngradeAction;
  const invalid = await failure(call(c.maintenance, 'downgrade', { action: VALIDATE, version: '3.6' }));
  t.is(invalid.code, status.INVALID_ARGUMENT);
  t.is(invalid.details, 'etcdserver: invalid downgrade target version');
  t.is(
    (await failure(call(c.maintenance, 'downgrade', { action: ENABLE, version: '3.6.0' }))).details,
    'etcdserver: invalid downgrade target version',
  );
  t.is(
    (await failure(call(c.maintenance, 'downgrade', { action: VALIDATE, version: 'three' }))).details,
    'etcdserver: wrong downgrade target version format',
  );
  t.is((await call(c.maintenance, 'downgrade', { action: CANCEL, version: '' })).version, '3.7');
  const unknown = await failure(call(c.maintenance, 'downgrade', { action: 7 as DowngradeRequest_DowngradeAction, version: '3.6' }));
  t.is(unknown.code, status.UNKNOWN);
  t.is(unknown.details, 'etcdserver: unknown method');
  t.false((await call(c.maintenance, 'status', {})).downgradeInfo!.enabled);
  const bad = await failure(call(c.maintenance, 'moveLeader', { targetID: 12345 }));
  t.is(bad.details, 'etcdserver: bad leader transferee');
});

test.serial('Snapshot streams a Cairn backup sized and checksummed as etcdctl snapshot save requires', async (t) => {
  const { c } = await member(t);
  const put = (k: string, v: string) =>
    call(c.kv, 'put', { key: b(k), value: b(v), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false });
  for (let i = 0; i < 20; i++) await put(`snap/${i}`, 'x'.repeat(i * 10));
  const stream = c.maintenance.snapshot({});
  const pieces: SnapshotResponse[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (r: SnapshotResponse) => pieces.push(r));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  t.regex(pieces[0]!.version, /^3\.7\.3\+cairn\./);
  t.is(pieces.at(-1)!.remainingBytes, 0);
  const file = Buffer.concat(pieces.map((p) => p.blob));
  // etcd's client/v3/snapshot hasChecksum: the size is 32 more than a multiple of 512.
  t.is(file.length % 512, 32);
  const body = file.subarray(0, file.length - 32);
  t.deepEqual(file.subarray(file.length - 32), createHash('sha256').update(body).digest());
  const backupLength = Number(body.readBigUInt64BE(body.length - 8));
  t.true(body.subarray(backupLength, body.length - 8).every((byte) => byte === 0));
  const dir = await mkdtemp(join(tmpdir(), 'etcd-snapshot-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cairnBackup = join(dir, 'backup.snap');
  await writeFile(cairnBackup, file.subarray(0, backupLength));
  const summary = await readBackupFile(cairnBackup);
  t.true(summary.revision >= 20, `revision ${summary.revision}`);
});

test.serial(
  'auth through etcd: enable, authenticate, the token works on cairn and etcd calls, and permission is refused in etcd words',
  async (t) => {
    const { c } = await member(t);
    await call(c.auth, 'userAdd', { name: 'root', password: 'rootpw', options: undefined, hashedPassword: '' });
    await call(c.auth, 'userGrantRole', { user: 'root', role: 'root' });
    await call(c.auth, 'roleAdd', { name: 'app' });
    await call(c.auth, 'roleGrantPermission', {
      name: 'app',
      perm: { permType: Permission_Type.READWRITE, key: b('app/'), rangeEnd: b('app0') },
    });
    await call(c.auth, 'userAdd', { name: 'alice', password: 'alicepw', options: undefined, hashedPassword: '' });
    await call(c.auth, 'userGrantRole', { user: 'alice', role: 'app' });
    // As etcd: root's role is implicit (granted without a RoleAdd), so only added roles are listed.
    t.deepEqual((await call(c.auth, 'roleList', {})).roles, ['app']);
    const perms = await call(c.auth, 'roleGet', { role: 'app' });
    t.deepEqual(perms.perm, [{ permType: Permission_Type.READWRITE, key: b('app/'), rangeEnd: b('app0') }]);
    t.is(
      (await failure(call(c.auth, 'userAdd', { name: 'alice', password: 'x', options: undefined, hashedPassword: '' }))).details,
      'etcdserver: user name already exists',
    );
    t.is(
      (await failure(call(c.auth, 'authenticate', { name: 'alice', password: 'alicepw' }))).details,
      'etcdserver: authentication is not enabled',
    );

    await call(c.auth, 'authEnable', {});
    t.true((await call(c.auth, 'authStatus', {})).enabled);
    // Enabling again is a no-op, as in etcd: tokens issued meanwhile stay valid.
    const wrong = await failure(call(c.auth, 'authenticate', { name: 'alice', password: 'nope' }));
    t.is(wrong.details, 'etcdserver: authentication failed, invalid user ID or password');
    const alice = (await call(c.auth, 'authenticate', { name: 'alice', password: 'alicepw' })).token;
    const root = (await call(c.auth, 'authenticate', { name: 'root', password: 'rootpw' })).token;
    await call(c.auth, 'authEnable', {}, root);

    // The etcd token on Cairn's own KV service.
    const put = { key: b('app/x'), value: b('1'), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false };
    await call(c.kv, 'put', put, alice);
    // No token: etcd's "user name is empty"; outside the role's range: etcd's "permission denied".
    const anonymous = await failure(call(c.auth, 'userList', {}));
    t.is(anonymous.details, 'etcdserver: user name is empty');
    const lease = await grant(c, 30).catch(() => 0);
    t.is(lease, 0, 'a lease grant without a token is refused');
    const aliceLease = (await call(c.lease, 'leaseGrant', { ttl: 30, id: 0 }, alice)).id;
    const denied = await failure(call(c.lock, 'lock', { name: b('other'), lease: aliceLease }, alice));
    t.is(denied.code, status.PERMISSION_DENIED);
    t.is(denied.details, 'etcdserver: permission denied');
    t.is((await failure(call(c.auth, 'userList', {}, alice))).details, 'etcdserver: permission denied');
    const locked = await call(c.lock, 'lock', { name: b('app/l'), lease: aliceLease }, alice);
    t.is(locked.key.toString(), `app/l/${aliceLease.toString(16)}`);
    t.deepEqual((await call(c.auth, 'userList', {}, root)).users.sort(), ['alice', 'root']);
    const bogus = await failure(call(c.auth, 'userList', {}, 'c1.bogus.token'));
    t.is(bogus.details, 'etcdserver: invalid auth token');
    await call(c.auth, 'authDisable', {}, root);
    t.false((await call(c.auth, 'authStatus', {})).enabled);
  },
);

test.serial('Lock: one holder at a time, the next in create-revision order, and a holder whose lease expires loses it', async (t) => {
  const { c } = await member(t);
  const [l1, l2, l3] = [await grant(c, 60), await grant(c, 60), await grant(c, 2)];
  const first = await call(c.lock, 'lock', { name: b('job'), lease: l1 });
  t.is(first.key.toString(), `job/${l1.toString(16)}`);
  let secondDone = false;
  const second = call(c.lock, 'lock', { name: b('job'), lease: l2 }).finally(() => (secondDone = true));
  // Queued: its key exists under the prefix, and it has not been answered.
  const queued = async (n: number): Promise<void> => {
    for (const deadline = Date.now() + MIN_WAIT_MS; Date.now() < deadline;) {
      const r = await call(c.kv, 'range', {
        key: b('job/'),
        rangeEnd: b('job0'),
        limit: 0,
        revision: 0,
        sortOrder: 0,
        sortTarget: 0,
        serializable: false,
        keysOnly: true,
        countOnly: false,
        maxStalenessMs: 0,
      });
      if (r.kvs.length === n) return;
      await new Promise((r2) => setTimeout(r2, 20));
    }
    throw new Error(`the lock queue never held ${n} keys`);
  };
  await queued(2);
  t.false(secondDone, 'the second Lock waits while the first holds');
  await call(c.lock, 'unlock', { key: first.key });
  const got = await second;
  t.is(got.key.toString(), `job/${l2.toString(16)}`);
  t.true(got.header!.revision > first.header!.revision);

  // The third waits behind the second; revoking the second's lease deletes its key: the third holds.
  let thirdDone = false;
  const third = call(c.lock, 'lock', { name: b('job'), lease: l3 }).finally(() => (thirdDone = true));
  await queued(2);
  t.false(thirdDone);
  await call(c.lease, 'leaseRevoke', { id: l2 });
  t.is((await third).key.toString(), `job/${l3.toString(16)}`);

  // A holder's lease that expires (nobody keeps l3 alive) frees the lock for the next.
  const l4 = await grant(c, 60);
  const fourth = await call(c.lock, 'lock', { name: b('job'), lease: l4 });
  t.is(fourth.key.toString(), `job/${l4.toString(16)}`);

  const missing = await failure(call(c.lock, 'lock', { name: b('job'), lease: 999_999 }));
  t.is(missing.details, 'etcdserver: requested lease not found');
});

test.serial('Election: campaign, observe the leader and its proclaimed values, resign hands over to the next candidate', async (t) => {
  const { c } = await member(t);
  const [la, lb] = [await grant(c, 60), await grant(c, 60)];
  t.is((await failure(call(c.election, 'leader', { name: b('e') }))).details, 'election: no leader');
  const a = await call(c.election, 'campaign', { name: b('e'), lease: la, value: b('a1') });
  const leaderA = a.leader!;
  t.is(leaderA.key.toString(), `e/${la.toString(16)}`);
  t.is(leaderA.lease, la);

  const observer = c.election.observe({ name: b('e') });
  t.teardown(() => observer.cancel());
  const seen = collect(observer);
  const values = (): string[] => seen.responses.map((r) => r.kv!.value.toString());
  await waitUntil(
    () => values().length >= 1,
    MIN_WAIT_MS,
    () => `observe: ${JSON.stringify(values())}`,
  );
  t.deepEqual(values(), ['a1']);

  let bDone = false;
  const b1 = call(c.election, 'campaign', { name: b('e'), lease: lb, value: b('b1') }).finally(() => (bDone = true));
  await call(c.election, 'proclaim', { leader: leaderA, value: b('a2') });
  await waitUntil(
    () => values().includes('a2'),
    MIN_WAIT_MS,
    () => `observe: ${JSON.stringify(values())}`,
  );
  t.false(bDone, "b's campaign waits while a leads");
  t.is((await call(c.election, 'leader', { name: b('e') })).kv!.value.toString(), 'a2');

  await call(c.election, 'resign', { leader: leaderA });
  const won = await b1;
  t.is(won.leader!.key.toString(), `e/${lb.toString(16)}`);
  await waitUntil(
    () => values().includes('b1'),
    MIN_WAIT_MS,
    () => `observe: ${JSON.stringify(values())}`,
  );
  t.deepEqual(values(), ['a1', 'a2', 'b1']);
  // a no longer leads: its LeaderKey proclaims nothing.
  t.is((await failure(call(c.election, 'proclaim', { leader: leaderA, value: b('a3') }))).details, 'election: not leader');
  t.is((await call(c.election, 'leader', { name: b('e') })).kv!.value.toString(), 'b1');
});

test.serial("Lock queues with clientv3/concurrency's Mutex on the same keys: each waits for the other's older key", async (t) => {
  const { c } = await member(t);
  const [la, lb, lc] = [await grant(c, 60), await grant(c, 60), await grant(c, 60)];
  // concurrency.Mutex.tryAcquire, as clientv3 sends it through etcd's KV service.
  const mutexTryAcquire = async (lease: number): Promise<{ mine: Buffer; owner: Buffer }> => {
    const mine = b(`shared/${lease.toString(16)}`);
    const res = await call(c.etcdKv, 'txn', {
      compare: [
        {
          result: Compare_CompareResult.EQUAL,
          target: Compare_CompareTarget.CREATE,
          key: mine,
          targetUnion: { $case: 'createRevision', createRevision: 0 },
          rangeEnd: Buffer.alloc(0),
        },
      ],
      success: [
        { request: { $case: 'requestPut', requestPut: PutRequest.fromPartial({ key: mine, value: Buffer.alloc(0), lease }) } },
        {
          request: {
            $case: 'requestRange',
            requestRange: RangeRequest.fromPartial({
              key: b('shared/'),
              rangeEnd: b('shared0'),
              limit: 1,
              sortOrder: RangeRequest_SortOrder.ASCEND,
              sortTarget: RangeRequest_SortTarget.CREATE,
            }),
          },
        },
      ],
      failure: [],
    });
    t.true(res.succeeded);
    const owner = res.responses[1]?.response;
    if (owner?.$case !== 'responseRange') throw new Error('no owner range in the txn response');
    return { mine, owner: owner.responseRange.kvs[0]!.key };
  };
  const a = await mutexTryAcquire(la);
  t.deepEqual(a.owner, a.mine, 'the Mutex holds the free lock');
  let lockDone = false;
  const locked = call(c.lock, 'lock', { name: b('shared'), lease: lb }).finally(() => (lockDone = true));
  // The Mutex sees the Lock's key queued behind its own: it still owns the lock.
  for (const deadline = Date.now() + MIN_WAIT_MS; ;) {
    const r = await call(c.etcdKv, 'range', RangeRequest.fromPartial({ key: b('shared/'), rangeEnd: b('shared0'), keysOnly: true }));
    if (r.kvs.length === 2) break;
    if (Date.now() > deadline) throw new Error('the Lock never queued its key');
    await new Promise((r2) => setTimeout(r2, 20));
  }
  t.false(lockDone, 'Lock waits while the Mutex holds');
  // Mutex.Unlock: a delete of its key.
  await call(c.etcdKv, 'deleteRange', { key: a.mine, rangeEnd: Buffer.alloc(0), prevKv: false });
  const held = await locked;
  t.is(held.key.toString(), `shared/${lb.toString(16)}`);
  // A Mutex arriving now finds the Lock's key the owner, and would wait for it.
  const c3 = await mutexTryAcquire(lc);
  t.deepEqual(c3.owner, held.key);
});
