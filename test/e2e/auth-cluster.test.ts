// Authentication across real member processes: users and roles replicate through the log
// (a member that was down receives them in a snapshot), a token issued by one member is
// valid on every member, a revoke through one member refuses the next request on another,
// everything survives a restart of every member, and tokens expire after --auth-token-ttl.
import test from 'ava';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import type { HashKVResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { authClient, kvWithToken, login, maintenanceWithToken, outcome } from '../helpers/auth-clients.js';
import { ALICE_PASSWORD, enableAuthWithAlice, ROOT_PASSWORD } from '../helpers/auth-setup.js';
import { startClusterProcesses } from '../helpers/cluster-process.js';
import { b } from '../helpers/grpc-clients.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

test('three members: replication, a snapshot to a member that was down, tokens valid everywhere, revokes at once, restarts', async (t) => {
  // Small log retention, so that the member kept down catches up from a snapshot.
  const cluster = await startClusterProcesses(3, ['--snapshot-count', '20', '--snapshot-catch-up-entries', '5']);
  t.teardown(() => cluster.cleanup());
  await cluster.waitForLeader();
  const [n1, n2, n3] = cluster.members as [(typeof cluster.members)[0], (typeof cluster.members)[0], (typeof cluster.members)[0]];

  await n3.process.stop();
  await enableAuthWithAlice(authClient(t, n1.address));
  const rootToken = await login(authClient(t, n2.address), 'root', ROOT_PASSWORD);
  const rootKv = kvWithToken(t, n1.address, rootToken);
  for (let i = 0; i < 60; i++) await rootKv.set(`app/fill-${i % 5}`, String(i));

  await n3.process.restart();
  // n3 serves before it has heard from the leader; wait until it has (its requests would
  // otherwise wait for a leader, up to a bound a busy machine can pass).
  await cluster.waitForLeader();
  // Authenticate waits for n3's read barrier: it answers once the snapshot is installed.
  const aliceToken = await login(authClient(t, n3.address), 'alice', ALICE_PASSWORD);
  t.regex(n3.process.output(), /installed snapshot from the leader/, 'n3 caught up from a snapshot, which carried users and roles');
  t.is(await outcome(kvWithToken(t, n2.address, aliceToken).set('app/k', 'v')), 'ok');
  t.is(await outcome(kvWithToken(t, n1.address, aliceToken).get('app/k')), 'ok');
  t.is(await outcome(kvWithToken(t, n3.address, aliceToken).get('other')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);

  // Revoked through n2; the very next requests through n3 are refused (the read after its
  // read barrier, the write when applied after the revoke in the log).
  await authClient(t, n2.address, rootToken).call('roleRevokePermission', { role: 'app', key: b('app/'), rangeEnd: b('app0') });
  t.is(await outcome(kvWithToken(t, n3.address, aliceToken).get('app/k')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  t.is(await outcome(kvWithToken(t, n3.address, aliceToken).set('app/k', 'w')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);

  // Every member restarted: auth still on, the revoke still in force, tokens still valid
  // (the signing key is part of the replicated state).
  for (const m of cluster.members) await m.process.stop();
  for (const m of cluster.members) await m.process.restart();
  await cluster.waitForLeader();
  t.is(await outcome(kvWithToken(t, n3.address, undefined).get('app/k')), ErrorCode.ERROR_CODE_AUTH_REQUIRED);
  t.is(await outcome(kvWithToken(t, n1.address, aliceToken).get('app/k')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  t.is(await outcome(authClient(t, n3.address, rootToken).call('userList', {})), 'ok');
  t.is(await outcome(login(authClient(t, n2.address), 'alice', ALICE_PASSWORD)), 'ok');
  // HashKV is root's.
  const hashKv = (address: string) =>
    new Promise<HashKVResponse>((resolve, reject) =>
      maintenanceWithToken(t, address, rootToken).hashKv({ revision: 0 }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  const hashes = await Promise.all(cluster.members.map((m) => hashKv(m.address)));
  t.is(new Set(hashes.map((h) => h.hash)).size, 1, 'the members hold the same data');
});

test('a token expires after --auth-token-ttl; authenticating again gives a working one', async (t) => {
  const ttlMs = 2000;
  const node = await startNodeProcess({ args: ['--auth-token-ttl', String(ttlMs)] });
  t.teardown(() => node.cleanup());
  const admin = authClient(t, node.address);
  await enableAuthWithAlice(admin);
  const before = Date.now();
  const token = await login(admin, 'alice', ALICE_PASSWORD);
  const kv = kvWithToken(t, node.address, token);
  t.is(await outcome(kv.set('app/k', 'v')), 'ok');
  // Polled until the member refuses it; the bound only stops a stuck test.
  let last: 'ok' | number = 'ok';
  const bound = Date.now() + MIN_WAIT_MS + ttlMs;
  while (last === 'ok' && Date.now() < bound) {
    last = await outcome(kv.get('app/k'));
    if (last === 'ok') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.is(last, ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
  t.true(Date.now() - before >= ttlMs, 'not before its TTL');
  t.is(await outcome(kvWithToken(t, node.address, await login(admin, 'alice', ALICE_PASSWORD)).get('app/k')), 'ok');
});
