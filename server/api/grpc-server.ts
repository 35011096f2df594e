import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { KVServiceServer } from '../../gen/ts/cairn/v1/kv.js';
import { KVServiceService } from '../../gen/ts/cairn/v1/kv.js';
import type { WatchServiceServer } from '../../gen/ts/cairn/v1/watch.js';
import { WatchServiceService } from '../../gen/ts/cairn/v1/watch.js';
import type { Limits } from '../config.js';
import path from 'node:path';
import { HEALTH_PROTO_FILE, packageRoot, PUBLIC_PROTO_FILES } from './proto-files.js';

/** Room for protobuf framing around the largest accepted keys and values. */
const GRPC_OVERHEAD_BYTES = 64 * 1024;

export interface PublicServices {
  kv: KVServiceServer;
  watch: WatchServiceServer;
}

/**
 * The node's one gRPC server: public services, health and reflection on one port (the
 * Raft peer service will join them). Reflection lets grpcurl work without .proto files.
 */
export function buildGrpcServer(services: PublicServices, limits: Limits): { server: Server; health: HealthImplementation } {
  const server = new Server({
    'grpc.max_receive_message_length': limits.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  server.addService(KVServiceService, services.kv);
  server.addService(WatchServiceService, services.watch);

  const health = new HealthImplementation({
    '': 'SERVING',
    'cairn.v1.KVService': 'SERVING',
    'cairn.v1.WatchService': 'SERVING',
  });
  health.addToServer(server);

  const root = packageRoot();
  const definitions = loadSync([...PUBLIC_PROTO_FILES, path.join(root, HEALTH_PROTO_FILE)], {
    includeDirs: [path.join(root, 'proto')],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  new ReflectionService(definitions).addToServer(server);
  return { server, health };
}

export function bind(server: Server, listen: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}
