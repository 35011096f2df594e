/**
 * grpc-js clients of etcd's Cluster, Maintenance, Auth, Lock and Election services (the
 * generated ones in gen/ts/etcd), promisified, for tests against real members.
 */
import {
  credentials,
  Metadata,
  type CallOptions,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { LeaseServiceClient } from '../../gen/ts/cairn/v1/lease.js';
import {
  AuthClient,
  ClusterClient,
  KVClient as EtcdKVClient,
  MaintenanceClient,
  type ResponseHeader,
} from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { ElectionClient, type LeaderResponse } from '../../gen/ts/etcd/server/etcdserver/api/v3election/v3electionpb/v3election.js';
import { LockClient } from '../../gen/ts/etcd/server/etcdserver/api/v3lock/v3lockpb/v3lock.js';

const CALL_TIMEOUT_MS = 60_000;

/** The request and response types of a generated client's unary method (its last, 4-argument overload). */
type UnaryTypes<F> = F extends (
  req: infer Req,
  md: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: infer Res) => void,
) => ClientUnaryCall
  ? { req: Req; res: Res }
  : never;

/** Calls a unary method by name with the token (if any) in the "token" metadata, as etcd's clients do. */
export function call<C extends Client, M extends keyof C & string>(
  client: C,
  method: M,
  req: UnaryTypes<C[M]>['req'],
  token?: string,
  timeoutMs = CALL_TIMEOUT_MS,
): Promise<UnaryTypes<C[M]>['res']> {
  const md = new Metadata();
  if (token !== undefined) md.set('token', token);
  const invoke = (client[method] as (...args: unknown[]) => unknown).bind(client);
  return new Promise((resolve, reject) => {
    invoke(req, md, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res: UnaryTypes<C[M]>['res']) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** The ServiceError a call failed with (fails the test if it succeeded). */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded; an error was expected');
}

export interface EtcdClients {
  readonly cluster: ClusterClient;
  readonly maintenance: MaintenanceClient;
  readonly auth: AuthClient;
  readonly lock: LockClient;
  readonly election: ElectionClient;
  /** Cairn's own KV and Lease (etcd's are another helper's): one store, one set of leases. */
  readonly kv: KVServiceClient;
  readonly lease: LeaseServiceClient;
  /** etcd's KV (the etcd-kv branch's), for what clientv3/concurrency does client-side. */
  readonly etcdKv: EtcdKVClient;
  close(): void;
}

export function etcdClients(address: string): EtcdClients {
  const creds = credentials.createInsecure();
  const clients = {
    cluster: new ClusterClient(address, creds),
    maintenance: new MaintenanceClient(address, creds),
    auth: new AuthClient(address, creds),
    lock: new LockClient(address, creds),
    election: new ElectionClient(address, creds),
    kv: new KVServiceClient(address, creds),
    lease: new LeaseServiceClient(address, creds),
    etcdKv: new EtcdKVClient(address, creds),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}

/** Collects an Observe stream's responses as they arrive. */
export function collect(stream: ClientReadableStream<LeaderResponse>): { responses: LeaderResponse[]; errors: ServiceError[] } {
  const out = { responses: [] as LeaderResponse[], errors: [] as ServiceError[] };
  stream.on('data', (r: LeaderResponse) => out.responses.push(r));
  stream.on('error', (e: ServiceError) => out.errors.push(e));
  return out;
}

export type { ResponseHeader };
