/**
 * Transport security with real processes (issue 10): a three-member cluster with TLS and
 * --client-cert-auth, attacked the way the anchors were, through the Raft peer service on
 * the shared port. Certificates are made at test time with openssl.
 */
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { RaftPeerServiceClient, type StreamRequest, type StreamResponse } from '../../gen/ts/cairn/raft/v1/raft.js';
import { ClusterServiceClient, type MemberListResponse } from '../../gen/ts/cairn/v1/cluster.js';
import { KVServiceClient, PutRequest, RangeRequest, type PutResponse, type RangeResponse } from '../../gen/ts/cairn/v1/kv.js';
import { makeMessage, MessageType, type Message } from '../../server/raft/message.js';
import { EntryType } from '../../server/raft/types.js';
import { encodeMessage } from '../../server/transport/codec.js';
import { startClusterProcesses, type ClusterProcesses } from '../helpers/cluster-process.js';
import { runCli, startNodeProcess } from '../helpers/node-process.js';
import { createTestPki, memberSan, type IssuedCertificate, type TestPki } from '../helpers/test-certificates.js';
import { waitUntil } from '../helpers/wait.js';

function unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

function sslCredentials(caFile: string, cert?: IssuedCertificate): ChannelCredentials {
  return credentials.createSsl(
    readFileSync(caFile),
    cert === undefined ? null : readFileSync(cert.keyFile),
    cert === undefined ? null : readFileSync(cert.certFile),
  );
}

/** One batch on the Raft peer service, as grpcurl would send it; the call's status or answer. */
function sendPeerBatch(address: string, creds: ChannelCredentials, req: StreamRequest): Promise<ServiceError | StreamResponse> {
  const client = new RaftPeerServiceClient(address, creds);
  return new Promise((resolve) => {
    const call = client.stream((err, res) => {
      client.close();
      resolve(err ?? res);
    });
    call.on('error', () => {});
    call.write(req);
    call.end();
  });
}

function put(address: string, creds: ChannelCredentials, key: string, value: string): Promise<PutResponse> {
  const kv = new KVServiceClient(address, creds);
  return unary<PutResponse>((cb) =>
    kv.put(
      PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from(value) }),
      new Metadata(),
      { deadline: Date.now() + 30_000 },
      cb,
    ),
  ).finally(() => kv.close());
}

function get(address: string, creds: ChannelCredentials, key: string): Promise<RangeResponse> {
  const kv = new KVServiceClient(address, creds);
  return unary<RangeResponse>((cb) =>
    kv.range(RangeRequest.fromPartial({ key: Buffer.from(key) }), new Metadata(), { deadline: Date.now() + 30_000 }, cb),
  ).finally(() => kv.close());
}

/** Whether one line of a log holds every part (pino writes fields in its own order). */
function hasLine(log: string, parts: readonly string[]): boolean {
  return log.split('\n').some((line) => parts.every((p) => line.includes(p)));
}

function isStatus(r: ServiceError | StreamResponse, code: status): r is ServiceError {
  return 'code' in r && r.code === code;
}

interface Ctx {
  pki: TestPki;
  rogueCa: TestPki;
  client: IssuedCertificate;
  members: Map<string, IssuedCertificate>;
  cluster: ClusterProcesses;
  creds: ChannelCredentials;
  ids: Map<string, number>;
  clusterId: number;
}

let ctx: Ctx | undefined;

test.before(async () => {
  const pki = createTestPki();
  const rogueCa = createTestPki('Rogue CA');
  const members = new Map(['n1', 'n2', 'n3'].map((n) => [n, pki.issue(n, { san: memberSan(n) })] as const));
  const client = pki.issue('client');
  const creds = sslCredentials(pki.caFile, client);
  const cluster = await startClusterProcesses(3, ['--client-cert-auth', '--trusted-ca-file', pki.caFile], {
    memberArgs: (name) => ['--cert-file', members.get(name)!.certFile, '--key-file', members.get(name)!.keyFile],
    credentials: creds,
  });
  await cluster.waitForLeader();
  const clusterClient = new ClusterServiceClient(cluster.endpoints[0]!, creds);
  const list = await unary<MemberListResponse>((cb) => clusterClient.memberList({}, cb)).finally(() => clusterClient.close());
  ctx = {
    pki,
    rogueCa,
    client,
    members,
    cluster,
    creds,
    ids: new Map(list.members.map((m) => [m.name, m.id])),
    clusterId: list.header!.clusterId,
  };
});

test.after.always(async () => {
  await ctx?.cluster.cleanup();
  ctx?.pki.cleanup();
  ctx?.rogueCa.cleanup();
});

const c = (): Ctx => ctx!;

function batch(from: string, messages: Message[]): StreamRequest {
  return { clusterId: c().clusterId, from: c().ids.get(from)!, messages: messages.map(encodeMessage) };
}

test.serial('a three-member cluster with --client-cert-auth serves a client with a valid certificate, through the CLI', async (t) => {
  const { pki, client, cluster } = c();
  const tlsArgs = ['--endpoints', cluster.endpoints.join(','), '--cacert', pki.caFile, '--cert', client.certFile, '--key', client.keyFile];
  const putResult = await runCli(['put', 'greeting', 'hello', ...tlsArgs]);
  t.is(putResult.code, 0, putResult.stderr);
  const getResult = await runCli(['get', 'greeting', ...tlsArgs]);
  t.is(getResult.code, 0, getResult.stderr);
  t.is(getResult.stdout, 'greeting\nhello\n');
  // The same through the environment, as with etcdctl.
  const viaEnv = await runCli(['get', 'greeting', '--endpoints', cluster.endpoints[1]!], {
    env: { CAIRN_CACERT: pki.caFile, CAIRN_CERT: client.certFile, CAIRN_KEY: client.keyFile },
  });
  t.is(viaEnv.stdout, 'greeting\nhello\n', viaEnv.stderr);
  const status = await runCli(['status', ...tlsArgs]);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /leader/);
});

test.serial('plaintext, or TLS without a client certificate, is refused with a clear error', async (t) => {
  const { pki, cluster } = c();
  const plain = await runCli(['get', 'greeting', '--endpoints', cluster.endpoints[0]!, '--dial-timeout', '10s']);
  t.not(plain.code, 0);
  t.regex(plain.stderr, /no endpoint answered.*plaintext; if the member serves TLS, give --cacert/);
  const noCert = await runCli(['get', 'greeting', '--endpoints', cluster.endpoints[0]!, '--cacert', pki.caFile, '--dial-timeout', '10s']);
  t.not(noCert.code, 0);
  t.regex(noCert.stderr, /no endpoint answered.*TLS; check/);
  const err = await get(cluster.endpoints[0]!, credentials.createInsecure(), 'greeting').catch((e: ServiceError) => e);
  t.is((err as ServiceError).code, status.UNAVAILABLE);
});

test.serial(
  '(a) a forged heartbeat at term 1000000 over a client connection is refused: PERMISSION_DENIED, term unchanged, a warn line',
  async (t) => {
    const { cluster, creds } = c();
    const n1 = cluster.member('n1');
    const before = (await n1.status())!;
    const heartbeat = makeMessage({ type: MessageType.Heartbeat, from: c().ids.get('n2')!, to: c().ids.get('n1')!, term: 1_000_000 });
    const result = await sendPeerBatch(n1.address, creds, batch('n2', [heartbeat]));
    t.true(isStatus(result, status.PERMISSION_DENIED), JSON.stringify(result));
    t.regex((result as ServiceError).details, /CN=client.*names no member/);
    const after = (await n1.status())!;
    t.is(after.raftTerm, before.raftTerm);
    t.true(after.raftTerm < 1_000_000);
    await waitUntil(
      () => hasLine(n1.process.output(), ['"level":40', 'CN=client', 'raft peer message stream refused']),
      10_000,
      () => `no warn line naming the certificate in n1's log:\n${n1.process.output()}`,
    );
  },
);

test.serial(
  '(b) forged divergent appends are refused, also from a member certificate claiming another member; data and HashKV unchanged',
  async (t) => {
    const { cluster, creds, pki, members } = c();
    await put(cluster.endpoints[0]!, creds, 'k', 'before');
    await cluster.waitForConvergence();
    const leader = await cluster.waitForLeader();
    const followers = cluster.members.filter((m) => m.name !== leader);
    const hashes = await Promise.all(cluster.members.map((m) => m.hashKv()));
    const status0 = (await cluster.member(leader).status())!;
    const forgedAppend = (to: string, value: string): Message =>
      makeMessage({
        type: MessageType.App,
        from: c().ids.get(leader)!,
        to: c().ids.get(to)!,
        term: status0.raftTerm,
        logTerm: status0.raftTerm,
        index: status0.raftIndex,
        commit: status0.raftIndex + 1,
        entries: [{ term: status0.raftTerm, index: status0.raftIndex + 1, type: EntryType.Normal, data: Buffer.from(value) }],
      });
    // From a client certificate, one divergent entry per follower.
    for (const [i, f] of followers.entries()) {
      const r = await sendPeerBatch(f.address, creds, batch(leader, [forgedAppend(f.name, `forged-${i}`)]));
      t.true(isStatus(r, status.PERMISSION_DENIED), JSON.stringify(r));
    }
    // From a real member's certificate, claiming to be the leader (or anyone else).
    const impostor = followers[0]!;
    const memberCreds = sslCredentials(pki.caFile, members.get(impostor.name));
    const victim = followers[1]!;
    const r = await sendPeerBatch(victim.address, memberCreds, batch(leader, [forgedAppend(victim.name, 'forged-by-member')]));
    t.true(isStatus(r, status.PERMISSION_DENIED), JSON.stringify(r));
    t.regex((r as ServiceError).details, /certificate names member/);
    // A message inside the batch claiming another sender than the batch is refused too.
    const mixed = await sendPeerBatch(victim.address, memberCreds, batch(impostor.name, [forgedAppend(victim.name, 'mixed')]));
    t.true(isStatus(mixed, status.INVALID_ARGUMENT), JSON.stringify(mixed));

    // Nothing changed: same hashes and revisions everywhere, and the cluster still agrees after a write.
    const after = await Promise.all(cluster.members.map((m) => m.hashKv()));
    t.deepEqual(
      after.map((h) => [h.hash, h.header?.revision]),
      hashes.map((h) => [h.hash, h.header?.revision]),
    );
    await put(cluster.endpoints[0]!, creds, 'k', 'after');
    await cluster.waitForConvergence();
    const final = await Promise.all(cluster.members.map((m) => m.hashKv()));
    t.is(new Set(final.map((h) => h.hash)).size, 1, 'members agree');
    for (const m of cluster.members) t.is((await get(m.address, creds, 'k')).kvs[0]?.value.toString(), 'after');
  },
);

test.serial('a member of another cluster with the same names and another token is refused, and says why', async (t) => {
  const { cluster, members, pki } = c();
  const initialCluster = cluster.members.map((m) => `${m.name}=${m.address}`).join(',');
  const n3 = members.get('n3')!;
  const rogue = await startNodeProcess({
    args: [
      ...['--name', 'n3', '--initial-cluster', initialCluster, '--initial-cluster-token', 'another-cluster'],
      ...['--cert-file', n3.certFile, '--key-file', n3.keyFile, '--trusted-ca-file', pki.caFile, '--log-level', 'info'],
    ],
  });
  try {
    const n1 = cluster.member('n1');
    await waitUntil(
      () =>
        hasLine(n1.process.output() + cluster.member('n2').process.output(), ['cluster id mismatch', 'raft peer message stream refused']),
      10_000,
      () => `no refusal logged:\n${cluster.logs()}`,
    );
    t.pass();
  } finally {
    await rogue.cleanup();
  }
});

interface SingleTls {
  address: string;
  output(): string;
  cleanup(): Promise<void>;
}

async function startSingleTls(member: IssuedCertificate, pki: TestPki, extra: string[] = []): Promise<SingleTls> {
  const node = await startNodeProcess({
    args: ['--cert-file', member.certFile, '--key-file', member.keyFile, '--trusted-ca-file', pki.caFile, '--log-level', 'info', ...extra],
  });
  return node;
}

test('expired or wrongly signed client certificates are refused in the handshake; a valid one is served', async (t) => {
  const { pki, rogueCa, client } = c();
  const member = pki.issue('solo', { san: memberSan('solo') });
  const node = await startSingleTls(member, pki, ['--client-cert-auth']);
  t.teardown(() => node.cleanup());
  await put(node.address, sslCredentials(pki.caFile, client), 'x', '1');
  const expired = pki.issue('old-client', { days: -1 });
  const wrongCa = rogueCa.issue('client');
  for (const [what, creds] of [
    ['expired', sslCredentials(pki.caFile, expired)],
    ['signed by another CA', sslCredentials(pki.caFile, wrongCa)],
    ['none', sslCredentials(pki.caFile)],
  ] as const) {
    const err = await put(node.address, creds, 'x', '2').catch((e: ServiceError) => e);
    t.is((err as ServiceError).code, status.UNAVAILABLE, `${what}: ${JSON.stringify(err)}`);
  }
  // ...and a client that trusts another CA refuses the member.
  const err = await put(node.address, sslCredentials(rogueCa.caFile, client), 'x', '3').catch((e: ServiceError) => e);
  t.is((err as ServiceError).code, status.UNAVAILABLE);
  t.is((await get(node.address, sslCredentials(pki.caFile, client), 'x')).kvs[0]?.value.toString(), '1');
});

function servedSerial(address: string, caFile: string): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, ca: readFileSync(caFile), ALPNProtocols: ['h2'] }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

test('a rotated certificate is picked up without restart: new connections see the new serial', async (t) => {
  const { pki } = c();
  const member = pki.issue('rotating', { san: memberSan('rotating') });
  const node = await startSingleTls(member, pki, ['--tls-reload-interval', '100']);
  t.teardown(() => node.cleanup());
  const first = await servedSerial(node.address, pki.caFile);
  pki.issue('rotating', { san: memberSan('rotating') }); // same files, new key and serial
  const serial = new X509Certificate(readFileSync(member.certFile)).serialNumber;
  await waitUntil(
    () => hasLine(node.output(), ['TLS certificate files changed', '"purpose":"server"', serial]),
    10_000,
    () => `no reload logged:\n${node.output()}`,
  );
  const second = await servedSerial(node.address, pki.caFile);
  t.not(second, first);
  t.is(second.toLowerCase(), serial.toLowerCase());
  await put(node.address, sslCredentials(pki.caFile), 'after-rotation', 'ok');
});

test('without TLS a member refuses a non-loopback address unless --insecure-plaintext, and says why', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-plain-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const refused = await runCli(['serve', '--listen', '0.0.0.0:0', '--data-dir', join(dir, 'a')]);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /refusing to listen on 0\.0\.0\.0:0 without TLS.*--insecure-plaintext/);
  const allowed = await startNodeProcess({ listen: '0.0.0.0:0', args: ['--insecure-plaintext'] });
  t.teardown(() => allowed.cleanup());
  t.regex(allowed.address, /^0\.0\.0\.0:\d+$/);
});
