/**
 * Lease keep-alives and time-to-live requests reach the leader through a follower while
 * authentication is on, in plaintext and with TLS. The follower checks its client, then
 * forwards over one stream shared by all its clients; the leader lets such a forwarded
 * call through only from a member (with TLS: a certificate naming a current member), so a
 * client that sets the forwarded header itself gains nothing. With --client-cert-auth a
 * client certificate's CN is the user when the call carries no token.
 */
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { AuthServiceClient } from '../../gen/ts/cairn/v1/auth.js';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { FORWARDED_HEADER } from '../../server/api/lease-forwarder.js';
import { AuthCalls, authClient, login, outcome, tokenInterceptor } from '../helpers/auth-clients.js';
import { ALICE_PASSWORD, enableAuthWithAlice } from '../helpers/auth-setup.js';
import { startClusterProcesses, type ClusterProcesses } from '../helpers/cluster-process.js';
import { Kv } from '../helpers/grpc-clients.js';
import { Leases } from '../helpers/lease-client.js';
import { createTestPki, memberSan, type IssuedCertificate } from '../helpers/test-certificates.js';

async function leaderAndFollower(cluster: ClusterProcesses): Promise<{ leader: string; follower: string }> {
  const leader = await cluster.waitForLeader();
  const follower = cluster.members.find((m) => m.name !== leader)!;
  return { leader: cluster.member(leader).address, follower: follower.address };
}

function leases(t: ExecutionContext, address: string, creds: ChannelCredentials, token?: string): Leases {
  const client = new Leases(address, creds, { interceptors: [tokenInterceptor(token)] });
  t.teardown(() => client.close());
  return client;
}

/** Grant on the follower, then a keep-alive and a time-to-live, both answered by the leader. */
async function sessionThrough(t: ExecutionContext, via: Leases): Promise<void> {
  const { id } = await via.grant(30);
  const ka = via.keepAlive();
  t.teardown(() => ka.close());
  t.true((await ka.renew(id)).ttl > 0, 'a keep-alive through the follower renews');
  t.true((await via.timeToLive(id)).ttl > 0, 'time-to-live through the follower answers');
}

/** A keep-alive and a time-to-live sent straight to `address` with the forwarded header set. */
async function forgedForward(address: string, creds: ChannelCredentials, id: number): Promise<[number | 'ok', number | 'ok']> {
  const client = new Leases(address, creds);
  try {
    const forwarded = (): Metadata => {
      const m = new Metadata();
      m.set(FORWARDED_HEADER, '1');
      return m;
    };
    const ttl = outcome(
      new Promise((resolve, reject) =>
        client.client.leaseTimeToLive({ id, keys: false }, forwarded(), (err, res) => (err ? reject(err) : resolve(res))),
      ),
    );
    const stream = client.client.leaseKeepAlive(forwarded());
    const ka = outcome(
      new Promise((resolve, reject) => {
        stream.on('data', resolve);
        stream.on('error', (err: ServiceError) => reject(err));
        stream.write({ id });
      }),
    );
    return [await ka, await ttl];
  } finally {
    client.close();
  }
}

test('plaintext with auth: keep-alives and time-to-live through a follower work for a user', async (t) => {
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  const { follower } = await leaderAndFollower(cluster);
  await enableAuthWithAlice(authClient(t, follower));
  const alice = await login(authClient(t, follower), 'alice', ALICE_PASSWORD);

  await sessionThrough(t, leases(t, follower, credentials.createInsecure(), alice));
  // The follower checks its own client before forwarding anything.
  const anonymous = leases(t, follower, credentials.createInsecure());
  t.is(await outcome(anonymous.keepAlive().renew(1)), ErrorCode.ERROR_CODE_AUTH_REQUIRED);
  t.is(await outcome(anonymous.timeToLive(1)), ErrorCode.ERROR_CODE_AUTH_REQUIRED);
});

test('TLS, --client-cert-auth and auth: the certificate CN is the user; forwarding needs a member certificate', async (t) => {
  const pki = createTestPki();
  t.teardown(() => pki.cleanup());
  const members = new Map(['n1', 'n2', 'n3'].map((n) => [n, pki.issue(n, { san: memberSan(n) })] as const));
  const ssl = (cert: IssuedCertificate): ChannelCredentials =>
    credentials.createSsl(readFileSync(pki.caFile), readFileSync(cert.keyFile), readFileSync(cert.certFile));
  const root = ssl(pki.issue('root'));
  const alice = ssl(pki.issue('alice'));
  const mallory = ssl(pki.issue('mallory')); // a valid certificate, but no such user and no member
  const cluster = await startClusterProcesses(3, ['--client-cert-auth', '--trusted-ca-file', pki.caFile], {
    memberArgs: (name) => ['--cert-file', members.get(name)!.certFile, '--key-file', members.get(name)!.keyFile],
    credentials: root,
  });
  t.teardown(() => cluster.cleanup());
  const { leader, follower } = await leaderAndFollower(cluster);
  const admin = new AuthServiceClient(follower, root);
  t.teardown(() => admin.close());
  await enableAuthWithAlice(new AuthCalls(admin));

  // alice's certificate, no token: alice, inside her permission and not outside it.
  const kv = new Kv(new KVServiceClient(follower, alice));
  t.teardown(() => kv.client.close());
  t.is(await outcome(kv.set('app/x', 'v')), 'ok');
  t.is(await outcome(kv.get('app/x')), 'ok');
  t.is(await outcome(kv.set('other', 'v')), ErrorCode.ERROR_CODE_PERMISSION_DENIED);
  const malloryKv = new Kv(new KVServiceClient(follower, mallory));
  t.teardown(() => malloryKv.client.close());
  t.is(await outcome(malloryKv.get('app/x')), ErrorCode.ERROR_CODE_PERMISSION_DENIED, 'a CN that names no user is nobody');

  // Lease calls through the follower reach the leader over the member's certificate.
  await sessionThrough(t, leases(t, follower, alice));
  const { id } = await leases(t, leader, alice).grant(30);
  // A client setting the forwarded header itself is not a member: refused, not let through.
  t.deepEqual(await forgedForward(leader, mallory, id), [ErrorCode.ERROR_CODE_PERMISSION_DENIED, ErrorCode.ERROR_CODE_PERMISSION_DENIED]);
});
