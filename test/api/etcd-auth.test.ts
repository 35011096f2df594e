// etcd's KV, Watch and Lease services behind the member's access checks (the same rules as
// the cairn.v1 methods they map onto), refusing with etcd's statuses and messages: no
// token, a bad token, a key outside the caller's permissions (directly, in a txn, in a
// watch), and root-only compaction; etcd's Alarm listed by any user, changed by root only.
import test from 'ava';
import { credentials, status } from '@grpc/grpc-js';
import { AlarmRequest_AlarmAction, AlarmType, MaintenanceClient } from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { authClient, login } from '../helpers/auth-clients.js';
import { addRoot, ALICE_PASSWORD, enableAuthWithAlice, ROOT_PASSWORD } from '../helpers/auth-setup.js';
import { call, failure } from '../helpers/etcd-admin-clients.js';
import { EtcdClients } from '../helpers/etcd-clients.js';
import { b, grpcError, startApiNode } from '../helpers/grpc-clients.js';

test('etcd calls are checked like cairn.v1 calls and refused with etcd messages', async (t) => {
  const { address } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  await enableAuthWithAlice(admin);
  const alice = new EtcdClients(t, address, await login(admin, 'alice', ALICE_PASSWORD));

  const anonymous = await grpcError(new EtcdClients(t, address).range({ key: b('app/x') }));
  t.is(anonymous.code, status.INVALID_ARGUMENT);
  t.is(anonymous.details, 'etcdserver: user name is empty');
  const forged = await grpcError(new EtcdClients(t, address, 'not-a-token').range({ key: b('app/x') }));
  t.is(forged.code, status.UNAUTHENTICATED);
  t.is(forged.details, 'etcdserver: invalid auth token');

  await alice.put({ key: b('app/x'), value: b('1') });
  t.is((await alice.range({ key: b('app/x') })).count, 1);
  const outside = await grpcError(alice.range({ key: b('other') }));
  t.is(outside.code, status.PERMISSION_DENIED);
  t.is(outside.details, 'etcdserver: permission denied');
  const outsideStream = await grpcError(alice.rangeStream({ key: b('app/'), rangeEnd: b('b') }));
  t.is(outsideStream.code, status.PERMISSION_DENIED, 'RangeStream needs the whole range');
  t.is(outsideStream.details, 'etcdserver: permission denied');
  t.is((await alice.rangeStream({ key: b('app/'), rangeEnd: b('app0') })).at(-1)!.count, 1);
  const inTxn = await grpcError(
    alice.txn({
      success: [{ request: { $case: 'requestPut', requestPut: { key: b('app/y'), value: b('1') } } }],
      failure: [{ request: { $case: 'requestPut', requestPut: { key: b('other'), value: b('1') } } }],
    }),
  );
  t.is(inTxn.details, 'etcdserver: permission denied', 'both branches are checked');
  const compact = await grpcError(alice.compact({ revision: 1 }));
  t.is(compact.details, 'etcdserver: permission denied');
  t.true((await alice.grant(60)).ID > 0, 'any user may hold leases');

  const w = alice.openWatch(t);
  const refused = await w.createRaw({ key: b('other') });
  t.is(refused.watchId, -1);
  t.true(refused.created && refused.canceled);
  t.is(refused.cancelReason, 'etcdserver: permission denied');
  t.is(await w.create({ key: b('app/'), rangeEnd: b('app0') }), 0);
});

test("etcd's Alarm: any user may list alarms (as etcd), raising and ending them needs the root role", async (t) => {
  const { address } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  await addRoot(admin);
  await admin.call('userAdd', { name: 'alice', password: ALICE_PASSWORD });
  await admin.call('authEnable', {});
  const root = await login(admin, 'root', ROOT_PASSWORD);
  const alice = await login(admin, 'alice', ALICE_PASSWORD);
  const maintenance = new MaintenanceClient(address, credentials.createInsecure());
  t.teardown(() => maintenance.close());
  const self = (await call(maintenance, 'status', {})).header!.memberId;
  const list = { action: AlarmRequest_AlarmAction.GET, memberID: 0, alarm: AlarmType.NONE };
  const raise = { action: AlarmRequest_AlarmAction.ACTIVATE, memberID: self, alarm: AlarmType.NOSPACE };
  const end = { action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: self, alarm: AlarmType.NOSPACE };

  t.is((await failure(call(maintenance, 'alarm', list))).details, 'etcdserver: user name is empty');
  t.is((await failure(call(maintenance, 'alarm', raise, alice))).details, 'etcdserver: permission denied');
  await call(maintenance, 'alarm', raise, root);
  t.deepEqual((await call(maintenance, 'alarm', list, alice)).alarms, [{ memberID: self, alarm: AlarmType.NOSPACE }]);
  t.is((await failure(call(maintenance, 'alarm', end, alice))).details, 'etcdserver: permission denied');
  await call(maintenance, 'alarm', end, root);
  t.deepEqual((await call(maintenance, 'alarm', list, alice)).alarms, []);
});
