// AuthService end to end on a real in-process member: enabling, authenticating, tokens
// revoked by password changes, user deletion and disable/enable, permissions evaluated at
// request time, open watches canceled when their access goes, and passwords never stored
// in plaintext.
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Permission_Type } from '../../gen/ts/cairn/v1/auth.js';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import { openEngine } from '../../server/storage/open-engine.js';
import { authClient, kvWithToken, login, outcome, watchWithToken } from '../helpers/auth-clients.js';
import { ALICE_PASSWORD, enableAuthWithAlice, ROOT_PASSWORD } from '../helpers/auth-setup.js';
import { b, grpcError, startApiNode, status, statusDetails, type WatchSession } from '../helpers/grpc-clients.js';

/** The Cairn code in a watch's cancel_status. */
async function cancelCode(watch: WatchSession, watchId: number): Promise<number | undefined> {
  const reply = await watch.waitFor((r) => r.watchId === watchId && r.canceled, `watch ${watchId} to be canceled`);
  return reply.cancelStatus && statusDetails(reply.cancelStatus).info?.code;
}

test('enabling needs the root user with the root role; the root user and role cannot be removed while enabled', async (t) => {
  const { address } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  t.is(await outcome(admin.call('authEnable', {})), ErrorCode.ERROR_CODE_ROOT_USER_NOT_EXIST);
  await admin.call('userAdd', { name: 'root', password: ROOT_PASSWORD });
  t.is(await outcome(admin.call('authEnable', {})), ErrorCode.ERROR_CODE_ROOT_ROLE_NOT_EXIST);
  await admin.call('userGrantRole', { user: 'root', role: 'root' });
  t.is(await outcome(admin.call('authEnable', {})), 'ok');
  t.is(await outcome(admin.call('authStatus', {})), 'ok');

  const root = authClient(t, address, await login(admin, 'root', ROOT_PASSWORD));
  t.is(await outcome(root.call('userDelete', { name: 'root' })), ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT);
  t.is(await outcome(root.call('userRevokeRole', { name: 'root', role: 'root' })), ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT);
  t.is(await outcome(root.call('roleDelete', { role: 'root' })), ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT);
  t.is(await outcome(root.call('userAdd', { name: 'root', password: 'x' })), ErrorCode.ERROR_CODE_USER_EXISTS);
  t.is(await outcome(root.call('roleAdd', { name: 'root' })), ErrorCode.ERROR_CODE_ROLE_EXISTS);
  t.is(await outcome(root.call('userGrantRole', { user: 'root', role: 'nope' })), ErrorCode.ERROR_CODE_ROLE_NOT_FOUND);
  t.is(await outcome(root.call('userGet', { name: 'nope' })), ErrorCode.ERROR_CODE_USER_NOT_FOUND);
  t.is(await outcome(root.call('userAdd', { name: '', password: 'x' })), ErrorCode.ERROR_CODE_INVALID_ARGUMENT);
  t.is(await outcome(root.call('userAdd', { name: 'bob', password: '' })), ErrorCode.ERROR_CODE_INVALID_ARGUMENT);
  t.is(
    await outcome(root.call('roleGrantPermission', { name: 'nope', perm: { type: 0, key: b('a'), rangeEnd: b('') } })),
    ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
  );
  // Disabling is root's; afterwards everything is open again and tokens are ignored.
  t.is(await outcome(root.call('authDisable', {})), 'ok');
  t.is(await outcome(admin.call('userList', {})), 'ok');
  t.is(await outcome(admin.call('authenticate', { name: 'root', password: ROOT_PASSWORD })), ErrorCode.ERROR_CODE_AUTH_NOT_ENABLED);
});

test('authentication: no token, a wrong password, an unknown user and a forged token are refused with UNAUTHENTICATED', async (t) => {
  const { address } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  await enableAuthWithAlice(admin);

  const anonymous = kvWithToken(t, address, undefined);
  const err = await grpcError(anonymous.get('app/x'));
  t.is(err.code, status.UNAUTHENTICATED);
  t.is(await outcome(anonymous.get('app/x')), ErrorCode.ERROR_CODE_AUTH_REQUIRED);
  t.is(await outcome(admin.call('authenticate', { name: 'alice', password: 'wrong' })), ErrorCode.ERROR_CODE_AUTH_FAILED);
  t.is(await outcome(admin.call('authenticate', { name: 'mallory', password: ALICE_PASSWORD })), ErrorCode.ERROR_CODE_AUTH_FAILED);

  const token = await login(admin, 'alice', ALICE_PASSWORD);
  const [version, payload] = token.split('.');
  // Claims changed to root's, signature kept: refused.
  const forged = `${version}.${Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('"alice"', '"root"')).toString('base64url')}.${token.split('.')[2]}`;
  t.is(await outcome(kvWithToken(t, address, forged).get('app/x')), ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
  t.is(await outcome(kvWithToken(t, address, 'garbage').get('app/x')), ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
  t.is(await outcome(kvWithToken(t, address, token).get('app/x')), 'ok');
});

test('a token stops working when its user changes password or is deleted, or auth is disabled and enabled again', async (t) => {
  const { address } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  await enableAuthWithAlice(admin);
  const root = authClient(t, address, await login(admin, 'root', ROOT_PASSWORD));

  const before = await login(admin, 'alice', ALICE_PASSWORD);
  t.is(await outcome(kvWithToken(t, address, before).set('app/k', 'v')), 'ok');
  await root.call('userChangePassword', { name: 'alice', password: 'new-pw' });
  t.is(await outcome(kvWithToken(t, address, before).get('app/k')), ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
  t.is(await outcome(admin.call('authenticate', { name: 'alice', password: ALICE_PASSWORD })), ErrorCode.ERROR_CODE_AUTH_FAILED);
  const after = await login(admin, 'alice', 'new-pw');
  t.is(await outcome(kvWithToken(t, address, after).get('app/k')), 'ok');

  // Disable then enable: a new signing key, so every earlier token is void.
  await root.call('authDisable', {});
  await admin.call('authEnable', {});
  t.is(await outcome(kvWithToken(t, address, after).get('app/k')), ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
  const rootAgain = authClient(t, address, await login(admin, 'root', ROOT_PASSWORD));
  const fresh = await login(admin, 'alice', 'new-pw');

  await rootAgain.call('userDelete', { name: 'alice' });
  t.is(await outcome(kvWithToken(t, address, fresh).get('app/k')), ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
  // A new user of the same name does not inherit the old one's tokens.
  await rootAgain.call('userAdd', { name: 'alice', password: 'new-pw' });
  t.is(await outcome(kvWithToken(t, address, fresh).get('app/k')), ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
});

test('permissions are evaluated at request time: a revoked permission or role applies to the next call', async (t) => {
  const { address } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  await enableAuthWithAlice(admin);
  const root = authClient(t, address, await login(admin, 'root', ROOT_PASSWORD));
  const alice = kvWithToken(t, address, await login(admin, 'alice', ALICE_PASSWORD));

  t.is(await outcome(alice.set('app/k', 'v')), 'ok');
  await root.call('roleRevokePermission', { role: 'app', key: b('app/'), rangeEnd: b('app0') });
  t.is(await outcome(alice.get('app/k')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  await root.call('roleGrantPermission', { name: 'app', perm: { type: Permission_Type.TYPE_READ, key: b('app/'), rangeEnd: b('app0') } });
  t.is(await outcome(alice.get('app/k')), 'ok');
  t.is(await outcome(alice.set('app/k', 'w')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  await root.call('userRevokeRole', { name: 'alice', role: 'app' });
  t.is(await outcome(alice.get('app/k')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  t.is(await outcome(root.call('userRevokeRole', { name: 'alice', role: 'app' })), ErrorCode.ERROR_CODE_ROLE_NOT_GRANTED);
  t.is(
    await outcome(root.call('roleRevokePermission', { role: 'app', key: b('zzz'), rangeEnd: b('') })),
    ErrorCode.ERROR_CODE_PERMISSION_NOT_GRANTED,
  );
  // Deleting a role takes it from every user.
  await root.call('userGrantRole', { user: 'alice', role: 'app' });
  t.is(await outcome(alice.get('app/k')), 'ok');
  await root.call('roleDelete', { role: 'app' });
  t.is(await outcome(alice.get('app/k')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  t.deepEqual(((await root.call('userGet', { name: 'alice' })) as { roles: string[] }).roles, []);
});

test('open watches: a revoked permission, a deleted user and auth turned on cancel them with the error in cancel_status', async (t) => {
  const { address, openWatch } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  // Opened while auth is off: it has no credentials once auth is on.
  const anonymousWatch = openWatch();
  const anonymousId = await anonymousWatch.create({ key: b('app/'), rangeEnd: b('app0') });
  await enableAuthWithAlice(admin);
  t.is(await cancelCode(anonymousWatch, anonymousId), ErrorCode.ERROR_CODE_AUTH_REQUIRED);

  const root = authClient(t, address, await login(admin, 'root', ROOT_PASSWORD));
  const aliceToken = await login(admin, 'alice', ALICE_PASSWORD);
  const alice = kvWithToken(t, address, aliceToken);
  const watch = watchWithToken(t, address, aliceToken);
  const prefixWatch = await watch.create({ key: b('app/'), rangeEnd: b('app0') });
  const keyWatch = await watch.create({ key: b('app/one') });
  await alice.set('app/one', '1');
  await watch.waitForEvents(prefixWatch, 1);
  await watch.waitForEvents(keyWatch, 1);

  // Narrow the grant to app/one alone: the prefix watch goes, the key watch stays.
  await root.call('roleGrantPermission', {
    name: 'app',
    perm: { type: Permission_Type.TYPE_READWRITE, key: b('app/one'), rangeEnd: b('') },
  });
  await root.call('roleRevokePermission', { role: 'app', key: b('app/'), rangeEnd: b('app0') });
  t.is(await cancelCode(watch, prefixWatch), ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  await alice.set('app/one', '2');
  await watch.waitForEvents(keyWatch, 2);
  t.is(watch.events(prefixWatch).length, 1, 'no event after the cancel');

  // Deleting the user revokes its token: the remaining watch goes too.
  await root.call('userDelete', { name: 'alice' });
  t.is(await cancelCode(watch, keyWatch), ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
  // And a new watch on the same stream is refused.
  const refused = await watch.createRaw({ key: b('app/one') });
  t.true(refused.canceled);
  t.is(refused.cancelStatus && statusDetails(refused.cancelStatus).info?.code, ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);
});

test('passwords are stored only as salted scrypt hashes: the plaintext is nowhere in the data dir', async (t) => {
  const password = 'Plaintext-Needle-7f3a9c';
  const { address, dataDir, node } = await startApiNode(t, 'rocksdb');
  const admin = authClient(t, address);
  await admin.call('userAdd', { name: 'carol', password });
  await admin.call('userAdd', { name: 'dave', password });
  await admin.call('userChangePassword', { name: 'carol', password: `${password}-2` });
  t.is(await outcome(admin.call('userGet', { name: 'carol' })), 'ok');
  await node.close();

  // Every stored key and value, as the engine returns them (no file compression in the way)...
  const engine = await openEngine('rocksdb', dataDir);
  let records = 0;
  const needle = Buffer.from(password);
  try {
    for await (const [key, value] of engine.scan({})) {
      records++;
      t.false(key.includes(needle) || value.includes(needle), `record ${key.toString('latin1')} holds the password`);
    }
  } finally {
    await engine.close();
  }
  t.true(records > 0);
  // ...and every file of the data dir, byte for byte (the write-ahead log included).
  let files = 0;
  for (const entry of await readdir(dataDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files++;
    const bytes = await readFile(path.join(entry.parentPath, entry.name));
    t.false(bytes.includes(needle), `${entry.name} holds the password`);
  }
  t.true(files > 0);
});
