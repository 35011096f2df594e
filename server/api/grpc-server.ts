import {
  Server,
  type ServerCredentials,
  type ServerInterceptor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { HealthImplementation } from 'grpc-health-check';
import type { KVServiceServer } from '../../gen/ts/cairn/v1/kv.js';
import { KVServiceService } from '../../gen/ts/cairn/v1/kv.js';
import type { WatchServiceServer } from '../../gen/ts/cairn/v1/watch.js';
import { LeaseServiceService, type LeaseServiceServer } from '../../gen/ts/cairn/v1/lease.js';
import { ClusterServiceService, type ClusterServiceServer } from '../../gen/ts/cairn/v1/cluster.js';
import { MaintenanceServiceService, type MaintenanceServiceServer } from '../../gen/ts/cairn/v1/maintenance.js';
import { RaftPeerServiceService, type RaftPeerServiceServer } from '../../gen/ts/cairn/raft/v1/raft.js';
import { AuthServiceService, type AuthServiceServer } from '../../gen/ts/cairn/v1/auth.js';
import {
  AuthService as EtcdAuthService,
  ClusterService as EtcdClusterService,
  MaintenanceService as EtcdMaintenanceService,
  type AuthServer as EtcdAuthServer,
  type ClusterServer as EtcdClusterServer,
  type MaintenanceServer as EtcdMaintenanceServer,
} from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { LockService, type LockServer } from '../../gen/ts/etcd/server/etcdserver/api/v3lock/v3lockpb/v3lock.js';
import { ElectionService, type ElectionServer } from '../../gen/ts/etcd/server/etcdserver/api/v3election/v3electionpb/v3election.js';
import type { Limits } from '../config.js';
import type { Authorizer } from './auth/authorizer.js';
import { guardService } from './auth/guard.js';
import { callLayer } from './call-layer.js';
import { withInt64RangeCheck } from './int64-range.js';
import type { RpcObserver } from './rpc-observer.js';
import path from 'node:path';
import { ETCD_ADMIN_PROTO_FILES, HEALTH_PROTO_FILE, packageRoot, PUBLIC_PROTO_FILES } from './proto-files.js';
import { WATCH_SERVICE_DEFINITION } from './watch-encoding.js';
import { linkFileDependencies } from './reflection-dependencies.js';
import { addLazyReflection } from './lazy-reflection.js';
import { ETCD_PROTO_FILES, etcdServiceDefinitions, type EtcdServices } from './etcd/services.js';
import { toEtcdServiceError } from './etcd/rpctypes.js';
import { grpcServerOptions } from './grpc-server-options.js';

export interface NodeServices {
  kv: KVServiceServer;
  watch: WatchServiceServer;
  lease: LeaseServiceServer;
  cluster: ClusterServiceServer;
  maintenance: MaintenanceServiceServer;
  auth: AuthServiceServer;
  /** Raft traffic between members; not described by reflection, it is not a public API. */
  peer: RaftPeerServiceServer;
  /** etcd's v3 API over the same operations (server/api/etcd/); absent with --etcd-compat=false. */
  etcd?: EtcdServices;
  /** etcd's Cluster, Maintenance, Auth, Lock and Election services (absent with --etcd-compat=false). */
  etcdAdmin?: EtcdAdminServices;
}

export interface EtcdAdminServices {
  cluster: EtcdClusterServer;
  maintenance: EtcdMaintenanceServer;
  auth: EtcdAuthServer;
  lock: LockServer;
  election: ElectionServer;
}

/**
 * The member's one gRPC server: public services, the Raft peer service, health and
 * reflection on one port. Reflection lets grpcurl work without .proto files.
 */
export function buildGrpcServer(
  services: NodeServices,
  limits: Limits,
  authorizer: Authorizer,
  calls: {
    /** Counts and times every call (rpc-observer.ts), from the one layer of call-layer.ts. */
    readonly observer?: RpcObserver<unknown>;
    /** Layers around that one, in order (tracing, when on: rpc-tracing.ts). */
    readonly interceptors?: ServerInterceptor[];
  } = {},
): { server: Server; health: HealthImplementation } {
  const server = new Server({
    // The call layer last: the layers before it see the statuses it sends (int64 refusals).
    interceptors: [...(calls.interceptors ?? []), callLayer(calls.observer)],
    ...grpcServerOptions(limits),
  });
  // Every public service behind the access check (auth/access-rules.ts), its requests
  // decoded with the int64 range check (int64-range.ts); health and reflection stay open,
  // and the peer service is the members' own (TLS identifies them).
  const addPublic = <Impl extends object>(definition: ServiceDefinition, impl: Impl): void =>
    server.addService(withInt64RangeCheck(definition), guardService(definition, impl, authorizer) as UntypedServiceImplementation);
  addPublic(KVServiceService, services.kv);
  // Watch streams write responses they encoded themselves (fan-out encodes each revision once).
  addPublic(WATCH_SERVICE_DEFINITION, services.watch);
  addPublic(LeaseServiceService, services.lease);
  addPublic(ClusterServiceService, services.cluster);
  addPublic(MaintenanceServiceService, services.maintenance);
  addPublic(AuthServiceService, services.auth);
  // etcd's services behind the same guard, answering refusals with etcd's statuses (etcd/rpctypes.ts).
  for (const { definition, impl } of services.etcd === undefined ? [] : etcdServiceDefinitions(services.etcd)) {
    server.addService(
      withInt64RangeCheck(definition),
      guardService(definition, impl, authorizer, toEtcdServiceError) as UntypedServiceImplementation,
    );
  }
  server.addService(RaftPeerServiceService, services.peer);
  // etcd's services: the same guard and access table, refusals worded as etcd words them.
  const addEtcd = <Impl extends object>(definition: ServiceDefinition, impl: Impl): void =>
    server.addService(
      withInt64RangeCheck(definition),
      guardService(definition, impl, authorizer, toEtcdServiceError) as UntypedServiceImplementation,
    );
  const etcdHealth: Record<string, 'SERVING'> = {};
  if (services.etcdAdmin !== undefined) {
    addEtcd(EtcdClusterService, services.etcdAdmin.cluster);
    addEtcd(EtcdMaintenanceService, services.etcdAdmin.maintenance);
    addEtcd(EtcdAuthService, services.etcdAdmin.auth);
    addEtcd(LockService, services.etcdAdmin.lock);
    addEtcd(ElectionService, services.etcdAdmin.election);
    for (const name of ETCD_ADMIN_SERVICE_NAMES) etcdHealth[name] = 'SERVING';
  }

  const health = new HealthImplementation({
    '': 'SERVING',
    'cairn.v1.KVService': 'SERVING',
    'cairn.v1.WatchService': 'SERVING',
    'cairn.v1.LeaseService': 'SERVING',
    'cairn.v1.ClusterService': 'SERVING',
    'cairn.v1.MaintenanceService': 'SERVING',
    'cairn.v1.AuthService': 'SERVING',
    ...etcdHealth,
  });
  health.addToServer(server);

  // Described only when a reflection call first asks (lazy-reflection.ts says why).
  addLazyReflection(server, () => {
    const root = packageRoot();
    const etcdFiles = [
      ...(services.etcd === undefined ? [] : ETCD_PROTO_FILES),
      ...(services.etcdAdmin === undefined ? [] : ETCD_ADMIN_PROTO_FILES),
    ];
    const definitions = loadSync([...PUBLIC_PROTO_FILES, ...new Set(etcdFiles), path.join(root, HEALTH_PROTO_FILE)], {
      includeDirs: [path.join(root, 'proto')],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    return linkFileDependencies(definitions);
  });
  return { server, health };
}

const ETCD_ADMIN_SERVICE_NAMES = [
  'etcdserverpb.Cluster',
  'etcdserverpb.Maintenance',
  'etcdserverpb.Auth',
  'v3lockpb.Lock',
  'v3electionpb.Election',
];

export function bind(server: Server, listen: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}
