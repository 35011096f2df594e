// The authorization matrix, against a real member over gRPC: every RPC × the options that
// change what it touches (prev_kv, a past revision, key vs range vs prefix, nested txns,
// compares, both txn branches, watch ranges) × the caller's permission (none, read, write,
// readwrite on the prefix "a/", and root) × a target inside or outside the granted range
// → allowed or PERMISSION_DENIED. Open methods, root-only methods and the LeaseService
// (revoke: write on every attached key) have rows too.
import test, { type ExecutionContext } from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { Permission_Type } from '../../gen/ts/cairn/v1/auth.js';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import type { TxnInput } from '../helpers/grpc-clients.js';
import { b, startApiNode, statusDetails, type Kv, type WatchSession } from '../helpers/grpc-clients.js';
import {
  authClient,
  kvWithToken,
  login,
  maintenanceWithToken,
  outcome,
  tokenInterceptor,
  watchWithToken,
} from '../helpers/auth-clients.js';
import { Leases } from '../helpers/lease-client.js';
import type { MaintenanceServiceClient } from '../../gen/ts/cairn/v1/maintenance.js';
import type { AuthCalls } from '../helpers/auth-clients.js';

const PASSWORD = 'matrix-password';

function leasesWithToken(t: ExecutionContext, address: string, token: string | undefined): Leases {
  const leases = new Leases(address, credentials.createInsecure(), { interceptors: [tokenInterceptor(token)] });
  t.teardown(() => leases.close());
  return leases;
}

/** One keep-alive on a fresh stream. */
async function keepAliveOnce(t: ExecutionContext, leases: Leases, id: number): Promise<unknown> {
  const session = leases.keepAlive();
  t.teardown(() => session.close());
  return session.renew(id);
}

/** A selection of keys: a key alone, or key with range_end. */
interface Target {
  name: string;
  key: string;
  end: string;
  /** Inside the prefix "a/" every role's permission is on. */
  inside: boolean;
  single: boolean;
}

const TARGETS: Target[] = [
  { name: 'key inside', key: 'a/1', end: '', inside: true, single: true },
  { name: 'key outside', key: 'b/1', end: '', inside: false, single: true },
  { name: 'range inside', key: 'a/1', end: 'a/3', inside: true, single: false },
  { name: 'range straddling the grant', key: 'a/1', end: 'b/2', inside: false, single: false },
  { name: 'prefix inside', key: 'a/', end: 'a0', inside: true, single: false },
  { name: 'prefix outside', key: 'b/', end: 'b0', inside: false, single: false },
  { name: 'from-key (to the end of the keyspace)', key: 'a/', end: '\0', inside: false, single: false },
  { name: 'range starting before the grant', key: 'a', end: 'a/2', inside: false, single: false },
];

type Need = 'read' | 'write';

interface KeyOp {
  name: string;
  /** Only single keys (a put has no range). */
  singleOnly?: boolean;
  needs: Need[];
  run: (kv: Kv, target: Target) => Promise<unknown>;
}

const sel = (t: Target): { key: Buffer; rangeEnd: Buffer } => ({ key: b(t.key), rangeEnd: b(t.end) });
const compareOn = (t: Target) => ({ ...sel(t), result: 1, target: 1, targetUnion: { $case: 'version' as const, version: 0 } });
const putOp = (t: Target, prevKv = false) => ({
  request: { $case: 'requestPut' as const, requestPut: { key: b(t.key), value: b('v'), prevKv } },
});
const rangeOp = (t: Target) => ({ request: { $case: 'requestRange' as const, requestRange: sel(t) } });
const deleteOp = (t: Target, prevKv = false) => ({
  request: { $case: 'requestDeleteRange' as const, requestDeleteRange: { ...sel(t), prevKv } },
});
const txnOp = (txn: TxnInput) => ({ request: { $case: 'requestTxn' as const, requestTxn: txn } });
/** A key every permission level may read and write, so that only the op under test decides. */
const NEUTRAL: Target = { name: 'neutral', key: 'a/neutral', end: '', inside: true, single: true };

const KEY_OPS: KeyOp[] = [
  { name: 'Range', needs: ['read'], run: (kv, t) => kv.range(sel(t)) },
  { name: 'Range count_only', needs: ['read'], run: (kv, t) => kv.range({ ...sel(t), countOnly: true }) },
  { name: 'Range at a past revision', needs: ['read'], run: (kv, t) => kv.range({ ...sel(t), revision: 2 }) },
  { name: 'Range serializable', needs: ['read'], run: (kv, t) => kv.range({ ...sel(t), serializable: true }) },
  { name: 'Put', singleOnly: true, needs: ['write'], run: (kv, t) => kv.put({ key: b(t.key), value: b('v') }) },
  {
    name: 'Put prev_kv',
    singleOnly: true,
    needs: ['write', 'read'],
    run: (kv, t) => kv.put({ key: b(t.key), value: b('v'), prevKv: true }),
  },
  { name: 'DeleteRange', needs: ['write'], run: (kv, t) => kv.deleteRange(sel(t)) },
  { name: 'DeleteRange prev_kv', needs: ['write', 'read'], run: (kv, t) => kv.deleteRange({ ...sel(t), prevKv: true }) },
  { name: 'Txn compare', needs: ['read'], run: (kv, t) => kv.txn({ compare: [compareOn(t)] }) },
  { name: 'Txn success range', needs: ['read'], run: (kv, t) => kv.txn({ success: [rangeOp(t)] }) },
  { name: 'Txn success put', singleOnly: true, needs: ['write'], run: (kv, t) => kv.txn({ success: [putOp(t)] }) },
  { name: 'Txn success put prev_kv', singleOnly: true, needs: ['write', 'read'], run: (kv, t) => kv.txn({ success: [putOp(t, true)] }) },
  { name: 'Txn success delete', needs: ['write'], run: (kv, t) => kv.txn({ success: [deleteOp(t)] }) },
  { name: 'Txn success delete prev_kv', needs: ['write', 'read'], run: (kv, t) => kv.txn({ success: [deleteOp(t, true)] }) },
  // The failure branch does not run (no compare fails), yet it is checked.
  { name: 'Txn failure branch put (not taken)', singleOnly: true, needs: ['write'], run: (kv, t) => kv.txn({ failure: [putOp(t)] }) },
  { name: 'Txn failure branch range (not taken)', needs: ['read'], run: (kv, t) => kv.txn({ failure: [rangeOp(t)] }) },
  { name: 'Txn nested put', singleOnly: true, needs: ['write'], run: (kv, t) => kv.txn({ success: [txnOp({ success: [putOp(t)] })] }) },
  { name: 'Txn nested range', needs: ['read'], run: (kv, t) => kv.txn({ success: [txnOp({ success: [rangeOp(t)] })] }) },
  { name: 'Txn nested compare', needs: ['read'], run: (kv, t) => kv.txn({ success: [txnOp({ compare: [compareOn(t)] })] }) },
  {
    name: 'Txn doubly nested delete in a failure branch',
    needs: ['write'],
    run: (kv, t) => kv.txn({ success: [txnOp({ failure: [txnOp({ success: [deleteOp(t)] })] })] }),
  },
  {
    // The put is on a key inside the grant: a caller allowed the put must still be refused the range outside it.
    name: 'Txn put on a granted key, then a range of the target',
    needs: ['write', 'read'],
    run: (kv, t) => kv.txn({ success: [putOp(NEUTRAL), rangeOp(t)] }),
  },
];

interface Caller {
  name: string;
  /** Permission on the prefix "a/"; 'root' holds the root role. */
  level: 'none' | 'read' | 'write' | 'readwrite' | 'root';
  token: string;
  kv: Kv;
  maintenance: MaintenanceServiceClient;
  auth: AuthCalls;
  watch: WatchSession;
}

function allowed(caller: Caller, needs: Need[], inside: boolean): boolean {
  if (caller.level === 'root') return true;
  if (!inside) return false;
  const has = (n: Need): boolean => caller.level === 'readwrite' || caller.level === n;
  return needs.every(has);
}

test('authorization matrix: every RPC × option × permission × inside/outside the grant', async (t) => {
  const { address, kv: openKv } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  // History: revision 1..4, so that revision 2 is a past revision.
  for (const k of ['a/1', 'a/2', 'b/1', 'a/neutral']) await openKv.put({ key: b(k), value: b('seed') });

  // A role per level, each on the prefix "a/" ([a/, a0)).
  const levels = [
    ['read', Permission_Type.TYPE_READ],
    ['write', Permission_Type.TYPE_WRITE],
    ['readwrite', Permission_Type.TYPE_READWRITE],
  ] as const;
  for (const [name, type] of levels) {
    await admin.call('roleAdd', { name: `r-${name}` });
    await admin.call('roleGrantPermission', { name: `r-${name}`, perm: { type, key: b('a/'), rangeEnd: b('a0') } });
  }
  for (const name of ['root', 'u-none', 'u-read', 'u-write', 'u-readwrite']) await admin.call('userAdd', { name, password: PASSWORD });
  for (const [name] of levels) await admin.call('userGrantRole', { user: `u-${name}`, role: `r-${name}` });
  await admin.call('userGrantRole', { user: 'root', role: 'root' });
  await admin.call('authEnable', {});

  const callers: Caller[] = [];
  for (const [user, level] of [
    ['u-none', 'none'],
    ['u-read', 'read'],
    ['u-write', 'write'],
    ['u-readwrite', 'readwrite'],
    ['root', 'root'],
  ] as const) {
    const token = await login(admin, user, PASSWORD);
    callers.push({
      name: user,
      level,
      token,
      kv: kvWithToken(t, address, token),
      maintenance: maintenanceWithToken(t, address, token),
      auth: authClient(t, address, token),
      watch: watchWithToken(t, address, token),
    });
  }

  let cases = 0;
  const wrong: string[] = [];
  /**
   * allowed: must succeed; denied: must fail with PERMISSION_DENIED; past-check: root calls
   * that fail for another reason (an unknown member or role), as long as it is not that.
   */
  type Expect = 'allowed' | 'denied' | 'past-check';
  const record = async (label: string, expect: Expect, result: Promise<'ok' | number>): Promise<void> => {
    cases++;
    const got = await result;
    const name = got === 'ok' ? 'success' : (ErrorCode[got] ?? String(got));
    const denied = got === ErrorCode.ERROR_CODE_PERMISSION_DENIED;
    if (expect === 'allowed' && got !== 'ok') wrong.push(`${label}: expected success, got ${name}`);
    if (expect === 'denied' && !denied) wrong.push(`${label}: expected PERMISSION_DENIED, got ${name}`);
    if (expect === 'past-check' && (denied || got === 'ok')) wrong.push(`${label}: expected a failure past the access check, got ${name}`);
  };
  const expectFor = (ok: boolean): Expect => (ok ? 'allowed' : 'denied');

  for (const caller of callers) {
    for (const op of KEY_OPS) {
      for (const target of TARGETS) {
        if (op.singleOnly && !target.single) continue;
        await record(
          `${caller.name} ${op.name} on ${target.name}`,
          expectFor(allowed(caller, op.needs, target.inside)),
          outcome(op.run(caller.kv, target)),
        );
      }
    }
    // Watch: read on the whole watched range, not only its start key.
    for (const target of TARGETS) {
      await record(
        `${caller.name} Watch on ${target.name}`,
        expectFor(allowed(caller, ['read'], target.inside)),
        (async () => {
          const reply = await caller.watch.createRaw(sel(target));
          if (!reply.canceled) {
            caller.watch.cancel(reply.watchId);
            return 'ok' as const;
          }
          return (reply.cancelStatus && statusDetails(reply.cancelStatus).info?.code) ?? 0;
        })(),
      );
    }
  }

  // Leases: holding one needs only an authenticated user; revoking deletes the attached keys,
  // so it needs write permission on every one of them (checked when the revoke applies);
  // a put with a lease needs write on its key only.
  const rootLeases = leasesWithToken(t, address, callers[4]!.token);
  const leaseWith = async (keys: string[]): Promise<number> => {
    const { id } = await rootLeases.grant(60);
    for (const key of keys) await callers[4]!.kv.put({ key: b(key), value: b('v'), lease: id });
    return id;
  };
  for (const caller of callers) {
    const leases = leasesWithToken(t, address, caller.token);
    const held = await leaseWith([]);
    await record(`${caller.name} LeaseGrant`, 'allowed', outcome(leases.grant(60)));
    await record(`${caller.name} LeaseKeepAlive`, 'allowed', outcome(keepAliveOnce(t, leases, held)));
    await record(`${caller.name} LeaseTimeToLive`, 'allowed', outcome(leases.timeToLive(held)));
    await record(`${caller.name} LeaseTimeToLive with keys`, 'allowed', outcome(leases.timeToLive(held, true)));
    await record(`${caller.name} LeaseLeases`, 'allowed', outcome(leases.list()));
    for (const [what, keys, inside] of [
      ['no keys', [], true],
      ['a key inside', [`a/lease-${caller.name}`], true],
      ['two keys inside', [`a/lease-${caller.name}-1`, `a/lease-${caller.name}-2`], true],
      ['a key outside', [`b/lease-${caller.name}`], false],
      ['keys inside and outside', [`a/lease-${caller.name}-3`, `b/lease-${caller.name}-3`], false],
    ] as const) {
      const id = await leaseWith([...keys]);
      const ok = keys.length === 0 || allowed(caller, ['write'], inside);
      await record(`${caller.name} LeaseRevoke of a lease with ${what}`, expectFor(ok), outcome(leases.revoke(id)));
    }
    for (const target of TARGETS.filter((x) => x.single)) {
      await record(
        `${caller.name} Put with a lease on ${target.name}`,
        expectFor(allowed(caller, ['write'], target.inside)),
        outcome(caller.kv.put({ key: b(target.key), value: b('v'), lease: held })),
      );
    }
  }
  // Without a token, every lease call is refused before it runs.
  const anonymous = leasesWithToken(t, address, undefined);
  for (const [name, call] of [
    ['LeaseGrant', () => anonymous.grant(60)],
    ['LeaseKeepAlive', () => keepAliveOnce(t, anonymous, 1)],
    ['LeaseTimeToLive', () => anonymous.timeToLive(1)],
    ['LeaseLeases', () => anonymous.list()],
    ['LeaseRevoke', () => anonymous.revoke(1)],
  ] as const) {
    cases++;
    const got = await outcome(call());
    if (got !== ErrorCode.ERROR_CODE_AUTH_REQUIRED)
      wrong.push(`no token ${name}: expected AUTH_REQUIRED, got ${got === 'ok' ? 'success' : ErrorCode[got]}`);
  }

  // Root-only and open methods, for every caller.
  const unary = <Res>(fn: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> =>
    new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
  for (const caller of callers) {
    const isRoot = caller.level === 'root';
    const m = caller.maintenance;
    await record(`${caller.name} HashKV`, expectFor(isRoot), outcome(unary((cb) => m.hashKv({ revision: 0 }, new Metadata(), cb))));
    await record(`${caller.name} Status (open)`, 'allowed', outcome(unary((cb) => m.status({}, new Metadata(), cb))));
    await record(
      `${caller.name} Alarms (list)`,
      expectFor(isRoot),
      outcome(unary((cb) => m.alarms({ action: 1, memberId: 0, alarm: 0 }, new Metadata(), cb))),
    );
    await record(
      `${caller.name} MoveLeader (to an unknown member)`,
      isRoot ? 'past-check' : 'denied',
      outcome(unary((cb) => m.moveLeader({ targetId: 12345 }, new Metadata(), cb))),
    );
    // A backup is every key and every password hash: root only.
    await record(
      `${caller.name} Snapshot`,
      expectFor(isRoot),
      outcome(
        new Promise<void>((resolve, reject) => {
          const stream = m.snapshot({}, new Metadata());
          stream.on('data', () => undefined);
          stream.once('error', reject);
          stream.once('end', resolve);
        }),
      ),
    );
    await record(`${caller.name} Defragment`, expectFor(isRoot), outcome(unary((cb) => m.defragment({}, new Metadata(), cb))));
    await record(`${caller.name} Compact`, expectFor(isRoot), outcome(caller.kv.compact({ revision: 1 })));
    await record(`${caller.name} AuthStatus (open)`, 'allowed', outcome(caller.auth.call('authStatus', {})));
    for (const [method, req, rootExpect] of [
      ['userList', {}, 'allowed'],
      ['roleList', {}, 'allowed'],
      ['userGet', { name: 'u-read' }, 'allowed'],
      ['roleGet', { role: 'r-read' }, 'allowed'],
      ['userAdd', { name: `x-${caller.name}`, password: 'p' }, 'allowed'],
      ['roleAdd', { name: `x-${caller.name}` }, 'allowed'],
      ['roleGrantPermission', { name: 'r-none-such', perm: { type: 1, key: b('z'), rangeEnd: b('') } }, 'past-check'],
      ['userGrantRole', { user: 'u-none', role: 'r-none-such' }, 'past-check'],
      ['userRevokeRole', { name: 'u-read', role: 'r-none-such' }, 'past-check'],
      ['roleRevokePermission', { role: 'r-read', key: b('zz'), rangeEnd: b('') }, 'past-check'],
      ['userChangePassword', { name: 'nobody', password: 'p' }, 'past-check'],
      ['userDelete', { name: 'nobody' }, 'past-check'],
      ['roleDelete', { role: 'nobody' }, 'past-check'],
    ] as const) {
      await record(`${caller.name} ${method}`, isRoot ? rootExpect : 'denied', outcome(caller.auth.call(method, req)));
    }
    // AuthDisable last of all, by root: the matrix needs authentication on until then.
  }
  await record('u-read AuthDisable', 'denied', outcome(callers[1]!.auth.call('authDisable', {})));
  await record('u-readwrite AuthEnable', 'denied', outcome(callers[3]!.auth.call('authEnable', {})));
  await record('root AuthDisable', 'allowed', outcome(callers[4]!.auth.call('authDisable', {})));

  t.log(`authorization matrix: ${cases} cases`);
  console.log(`authorization matrix: ${cases} cases`);
  t.deepEqual(wrong, [], `${wrong.length} of ${cases} cases wrong`);
});
