/**
 * The SDK's security options against real member processes: TLS with a CA and a client
 * certificate (made at test time with openssl), a clear failure for plaintext against TLS,
 * user/password with typed errors, and a token renewed without the caller noticing.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Permission_Type } from '../gen/cairn/v1/auth.js';
import { authClient, login, outcome, kvWithToken, type AuthCalls } from '../../../test/helpers/auth-clients.js';
import { b } from '../../../test/helpers/grpc-clients.js';
import { startNodeProcess } from '../../../test/helpers/node-process.js';
import { createTestPki, memberSan } from '../../../test/helpers/test-certificates.js';
import { MIN_WAIT_MS } from '../../../test/helpers/wait.js';
import { AuthenticationError, CairnClient, ErrorCode, PermissionDeniedError } from '../src/index.js';

test('TLS with a CA and a client certificate: put, get and watch; plaintext and a missing certificate fail clearly', async (t) => {
  const pki = createTestPki();
  t.teardown(() => pki.cleanup());
  const member = pki.issue('n1', { san: memberSan('n1') });
  const client = pki.issue('sdk-client');
  const node = await startNodeProcess({
    args: ['--cert-file', member.certFile, '--key-file', member.keyFile, '--trusted-ca-file', pki.caFile, '--client-cert-auth'],
  });
  t.teardown(() => node.cleanup());

  const secure = new CairnClient({
    endpoints: node.address,
    tls: { caFile: pki.caFile, certFile: client.certFile, keyFile: client.keyFile },
    callTimeoutMs: 30_000,
  });
  t.teardown(() => secure.close());
  const watch = secure.watch('tls/', { prefix: true });
  const put = await secure.put('tls/k', 'v');
  t.is((await secure.get('tls/k'))?.valueString, 'v');
  for await (const batch of watch) {
    t.is(batch.revision, put.revision);
    t.is(batch.events[0]?.kv.keyString, 'tls/k');
    break;
  }

  const plaintext = new CairnClient({ endpoints: node.address, dialTimeoutMs: 1000, callTimeoutMs: 3000, discover: false });
  t.teardown(() => plaintext.close());
  const refused = await t.throwsAsync(plaintext.get('tls/k'));
  t.is(refused?.name, 'CairnError');
  t.regex(refused?.message ?? '', /connecting with plaintext: if the member serves TLS, give the tls option or CAIRN_CACERT/);

  // The CA from bytes this time, but no client certificate: the member requires one.
  const noCert = new CairnClient({
    endpoints: node.address,
    tls: { ca: readFileSync(pki.caFile) },
    dialTimeoutMs: 1000,
    callTimeoutMs: 3000,
    discover: false,
  });
  t.teardown(() => noCert.close());
  const unproven = await t.throwsAsync(noCert.get('tls/k'));
  t.regex(unproven?.message ?? '', /connecting with TLS: check .* a client certificate is given/);
});

async function setUpUsers(admin: AuthCalls): Promise<void> {
  await admin.call('userAdd', { name: 'root', password: 'root-pw' });
  await admin.call('userGrantRole', { user: 'root', role: 'root' });
  await admin.call('roleAdd', { name: 'app' });
  await admin.call('roleGrantPermission', {
    name: 'app',
    perm: { type: Permission_Type.TYPE_READWRITE, key: b('app/'), rangeEnd: b('app0') },
  });
  await admin.call('userAdd', { name: 'alice', password: 'alice-pw' });
  await admin.call('userGrantRole', { user: 'alice', role: 'app' });
  await admin.call('authEnable', {});
}

test('user/password: calls and watches carry the token, typed errors, and an expired token is renewed transparently', async (t) => {
  const ttlMs = 1500;
  const node = await startNodeProcess({ args: ['--auth-token-ttl', String(ttlMs)] });
  t.teardown(() => node.cleanup());
  const admin = authClient(t, node.address);
  await setUpUsers(admin);

  const alice = new CairnClient({ endpoints: node.address, user: 'alice', password: 'alice-pw', callTimeoutMs: 30_000 });
  t.teardown(() => alice.close());
  await alice.put('app/k', 'v1');
  t.is((await alice.get('app/k'))?.valueString, 'v1');

  // A keep-alive stream carries the token too: a lease stays renewable with auth on.
  const lease = await alice.lease.grant(30);
  const keepAlive = alice.lease.keepAlive(lease.id);
  for await (const renewal of keepAlive) {
    t.true(renewal.ttl > 0);
    break;
  }
  keepAlive.close();

  const denied = await t.throwsAsync(alice.get('other/k'));
  t.true(denied instanceof PermissionDeniedError, String(denied));
  t.is((denied as PermissionDeniedError).cairnCode, ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  t.true(denied instanceof PermissionDeniedError && denied.codeName === 'PERMISSION_DENIED');
  const deniedWrite = await t.throwsAsync(alice.put('other/k', 'x'));
  t.true(deniedWrite instanceof PermissionDeniedError);

  const wrong = new CairnClient({ endpoints: node.address, user: 'alice', password: 'nope', callTimeoutMs: 10_000 });
  t.teardown(() => wrong.close());
  const failed = await t.throwsAsync(wrong.get('app/k'));
  t.true(failed instanceof AuthenticationError, String(failed));
  t.is((failed as AuthenticationError).cairnCode, ErrorCode.ERROR_CODE_AUTH_FAILED);

  const anonymous = new CairnClient({ endpoints: node.address, callTimeoutMs: 10_000 });
  t.teardown(() => anonymous.close());
  const required = await t.throwsAsync(anonymous.get('app/k'));
  t.true(required instanceof AuthenticationError, String(required));
  t.is((required as AuthenticationError).cairnCode, ErrorCode.ERROR_CODE_AUTH_REQUIRED);

  // alice's client has a token from before this one; once this one is refused, hers has
  // expired too (the event the test waits for, polled, bounded only against a stuck run).
  const later = await login(admin, 'alice', 'alice-pw');
  const probe = kvWithToken(t, node.address, later);
  let last: 'ok' | number = 'ok';
  const bound = Date.now() + MIN_WAIT_MS + ttlMs;
  while (last === 'ok' && Date.now() < bound) {
    last = await outcome(probe.get('app/k'));
    if (last === 'ok') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.is(last, ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN);

  // A write with the expired token: refused before it is applied, so it is retried once
  // after authenticating again, and applied exactly once.
  const put = await alice.put('app/k', 'v2', { prevKv: true });
  t.is(put.prevKv?.valueString, 'v1');
  t.is((await alice.get('app/k'))?.version, 2n);

  // A watch opened with an expired token: re-authenticated and created.
  for (let at = Date.now() + MIN_WAIT_MS + ttlMs; ;) {
    if ((await outcome(kvWithToken(t, node.address, later).get('app/k'))) !== 'ok') break;
    t.true(Date.now() < at, 'the second token never expired');
  }
  const watch = alice.watch('app/', { prefix: true, startRevision: put.revision });
  for await (const batch of watch) {
    t.is(batch.revision, put.revision);
    break;
  }
});
