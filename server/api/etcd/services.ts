/**
 * etcd's v3 services as the member serves them (on unless --etcd-compat=false): their
 * definitions for the gRPC server, and the .proto files that reflection describes them by.
 */
import type { ServerDuplexStream, ServiceDefinition } from '@grpc/grpc-js';
import type { WatchRequest, WatchResponse } from '../../../gen/ts/cairn/v1/watch.js';
import { KVService, LeaseService, type KVServer, type LeaseServer } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { ETCD_WATCH_SERVICE_DEFINITION } from './watch-protocol.js';

/** etcd's Watch: the stream reads translated cairn.v1 requests and writes responses it encoded (watch-protocol.ts). */
export interface EtcdWatchServer {
  watch: (call: ServerDuplexStream<WatchRequest, WatchResponse>) => void;
}

export interface EtcdServices {
  kv: KVServer;
  watch: EtcdWatchServer;
  lease: LeaseServer;
}

/** etcd's .proto files, relative to proto/ (copied from etcd v3.7.3 by scripts/import-etcd-protos.py). */
export const ETCD_PROTO_FILES = ['etcd/api/etcdserverpb/rpc.proto', 'etcd/api/mvccpb/kv.proto', 'etcd/api/authpb/auth.proto'];

/** Each etcd service with its implementation, to register behind the guard. */
export function etcdServiceDefinitions(services: EtcdServices): { definition: ServiceDefinition; impl: object }[] {
  return [
    { definition: KVService, impl: services.kv },
    { definition: ETCD_WATCH_SERVICE_DEFINITION, impl: services.watch },
    { definition: LeaseService, impl: services.lease },
  ];
}
