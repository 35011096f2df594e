// The standard services next to Cairn's own on the node's port: grpc.health.v1.Health and
// server reflection (which tools such as grpcurl use instead of .proto files).
import {
  credentials,
  loadPackageDefinition,
  makeGenericClientConstructor,
  type Client,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { service as healthService } from 'grpc-health-check';
import { startApiNode, status, statusName } from '../helpers/grpc-clients.js';

const require = createRequire(import.meta.url);

interface HealthClient extends Client {
  check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
}
const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => HealthClient;

/** The reflection v1 proto bundled with @grpc/reflection. */
const REFLECTION_PROTO = path.join(
  path.dirname(require.resolve('@grpc/reflection/package.json')),
  'build',
  'proto',
  'grpc',
  'reflection',
  'v1',
  'reflection.proto',
);

interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
  message_response: string;
}
type ReflectionClient = Client & { ServerReflectionInfo(): ClientDuplexStream<Record<string, unknown>, ReflectionResponse> };

function reflectionClient(address: string): ReflectionClient {
  const def = loadSync(REFLECTION_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(def) as unknown as {
    grpc: {
      reflection: { v1: { ServerReflection: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => ReflectionClient } };
    };
  };
  return new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
}

/** One request on a reflection stream, one response. */
function reflect(client: ReflectionClient, request: Record<string, unknown>): Promise<ReflectionResponse> {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on('data', (r: ReflectionResponse) => {
      resolve(r);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

test('Health/Check reports SERVING for the node and each public service; unknown services are NOT_FOUND', async (t) => {
  const { address } = await startApiNode(t, 'rocksdb');
  const client = new HealthClient(address, credentials.createInsecure());
  t.teardown(() => client.close());
  const check = (service: string) =>
    new Promise<{ status: string }>((resolve, reject) => client.check({ service }, (err, res) => (err ? reject(err) : resolve(res))));

  t.is((await check('')).status, 'SERVING');
  t.is((await check('cairn.v1.KVService')).status, 'SERVING');
  t.is((await check('cairn.v1.WatchService')).status, 'SERVING');
  t.is((await check('cairn.v1.LeaseService')).status, 'SERVING');
  const unknown = await check('cairn.v1.Nope').then(
    () => undefined,
    (err: ServiceError) => err,
  );
  t.is(unknown?.code, status.NOT_FOUND, unknown ? statusName(unknown.code) : 'the check succeeded');
});

test('reflection lists the public services and health, and describes each', async (t) => {
  const { address } = await startApiNode(t, 'leveldb');
  const client = reflectionClient(address);
  t.teardown(() => client.close());

  const listed = await reflect(client, { list_services: '' });
  const names = (listed.list_services_response?.service ?? []).map((s) => s.name);
  for (const name of [
    'cairn.v1.KVService',
    'cairn.v1.WatchService',
    'cairn.v1.LeaseService',
    'cairn.v1.AuthService',
    'grpc.health.v1.Health',
  ])
    t.true(names.includes(name), `${name} in ${JSON.stringify(names)}`);

  // Each is described by a file descriptor naming its methods, so clients can call it.
  for (const [symbol, methods] of [
    ['cairn.v1.KVService', ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact']],
    ['cairn.v1.WatchService', ['Watch']],
    ['cairn.v1.LeaseService', ['LeaseGrant', 'LeaseRevoke', 'LeaseKeepAlive', 'LeaseTimeToLive', 'LeaseLeases']],
    ['cairn.v1.AuthService', ['Authenticate', 'UserAdd', 'RoleGrantPermission', 'AuthEnable']],
    ['grpc.health.v1.Health', ['Check']],
  ] as const) {
    const described = await reflect(client, { file_containing_symbol: symbol });
    t.is(described.error_response, undefined, `${symbol}: ${described.error_response?.error_message}`);
    const files = described.file_descriptor_response?.file_descriptor_proto ?? [];
    t.true(files.length > 0, `descriptors for ${symbol}`);
    const text = Buffer.concat(files).toString('latin1');
    for (const method of methods) t.true(text.includes(method), `${symbol} descriptor names ${method}`);
  }
  const missing = await reflect(client, { file_containing_symbol: 'cairn.v1.Nope' });
  t.is(missing.error_response?.error_code, status.NOT_FOUND);
});

/** grpcurl from PATH or $(go env GOPATH)/bin; undefined if absent. */
async function findGrpcurl(): Promise<string | undefined> {
  const run = promisify(execFile);
  const onPath = await run('sh', ['-c', 'command -v grpcurl']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (onPath !== '') return onPath;
  const gopath = await run('go', ['env', 'GOPATH']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  const candidate = gopath === '' ? '' : path.join(gopath, 'bin', 'grpcurl');
  return candidate !== '' && existsSync(candidate) ? candidate : undefined;
}

// A Go-based client is pickier about descriptors than the Node one (see
// server/api/reflection/health.proto): list, describe and call through reflection alone.
test('grpcurl lists, describes and calls the services through reflection', async (t) => {
  const grpcurl = await findGrpcurl();
  if (grpcurl === undefined) {
    t.fail(
      'grpcurl was not found on PATH or in $(go env GOPATH)/bin. Install it with `go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest` (or see https://github.com/fullstorydev/grpcurl#installation) and run the tests again.',
    );
    return;
  }
  const { address, kv } = await startApiNode(t, 'rocksdb');
  const run = (...args: string[]) => promisify(execFile)(grpcurl, ['-plaintext', ...args], { timeout: 15_000 });

  const list = (await run(address, 'list')).stdout.trim().split('\n');
  for (const name of ['cairn.v1.KVService', 'cairn.v1.WatchService', 'cairn.v1.LeaseService', 'grpc.health.v1.Health'])
    t.true(list.includes(name), `${name} in ${JSON.stringify(list)}`);
  const describe = await run(address, 'describe', 'cairn.v1.KVService');
  t.regex(describe.stdout, /rpc Range \( \.cairn\.v1\.RangeRequest \) returns \( \.cairn\.v1\.RangeResponse \)/);
  const lease = await run(address, 'describe', 'cairn.v1.LeaseService');
  t.regex(
    lease.stdout,
    /rpc LeaseKeepAlive \( stream \.cairn\.v1\.LeaseKeepAliveRequest \) returns \( stream \.cairn\.v1\.LeaseKeepAliveResponse \)/,
  );
  const granted = await run('-d', '{"ttl": 60}', address, 'cairn.v1.LeaseService/LeaseGrant');
  t.is((JSON.parse(granted.stdout) as { ttl: string }).ttl, '60');
  const health = await run('-d', '{"service":""}', address, 'grpc.health.v1.Health/Check');
  t.is((JSON.parse(health.stdout) as { status: string }).status, 'SERVING');

  await kv.set('from-node', 'hello');
  const range = await run('-d', JSON.stringify({ key: Buffer.from('from-node').toString('base64') }), address, 'cairn.v1.KVService/Range');
  const parsed = JSON.parse(range.stdout) as { kvs: { value: string }[]; count: string };
  t.is(parsed.count, '1');
  t.is(Buffer.from(parsed.kvs[0]!.value, 'base64').toString(), 'hello');

  // etcd's services (on by default), whose messages use types of other packages (mvccpb).
  for (const name of [
    'etcdserverpb.KV',
    'etcdserverpb.Watch',
    'etcdserverpb.Lease',
    'etcdserverpb.Cluster',
    'etcdserverpb.Maintenance',
    'etcdserverpb.Auth',
    'v3lockpb.Lock',
    'v3electionpb.Election',
  ])
    t.true(list.includes(name), `${name} in ${JSON.stringify(list)}`);
  const etcdKv = await run(address, 'describe', 'etcdserverpb.KV');
  t.regex(etcdKv.stdout, /rpc Range \( \.etcdserverpb\.RangeRequest \) returns \( \.etcdserverpb\.RangeResponse \)/);
  const rangeResponse = await run(address, 'describe', 'etcdserverpb.RangeResponse');
  t.regex(rangeResponse.stdout, /repeated \.mvccpb\.KeyValue kvs = 2;/);
  // v3electionpb uses etcdserverpb and mvccpb: two packages away.
  const election = await run(address, 'describe', 'v3electionpb.Election');
  t.regex(election.stdout, /rpc Observe \( \.v3electionpb\.LeaderRequest \) returns \( stream \.v3electionpb\.LeaderResponse \)/);
  const etcdRange = await run('-d', JSON.stringify({ key: Buffer.from('from-node').toString('base64') }), address, 'etcdserverpb.KV/Range');
  t.is((JSON.parse(etcdRange.stdout) as { count: string }).count, '1');
});
