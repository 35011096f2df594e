import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The public .proto files, relative to proto/, described by server reflection. */
export const PUBLIC_PROTO_FILES = [
  'cairn/v1/kv.proto',
  'cairn/v1/watch.proto',
  'cairn/v1/lease.proto',
  'cairn/v1/cluster.proto',
  'cairn/v1/maintenance.proto',
  'cairn/v1/auth.proto',
  'cairn/v1/types.proto',
  'cairn/v1/errors.proto',
];

/** etcd's API (proto/etcd, imported from etcd v3.7.3), described when the etcd services are on. */
export const ETCD_PROTO_FILES = [
  'etcd/api/etcdserverpb/rpc.proto',
  'etcd/api/mvccpb/kv.proto',
  'etcd/api/authpb/auth.proto',
  'etcd/server/etcdserver/api/v3lock/v3lockpb/v3lock.proto',
  'etcd/server/etcdserver/api/v3election/v3electionpb/v3election.proto',
];

/**
 * Our description of grpc.health.v1 for reflection, relative to the package root. It omits
 * the List method: grpc-health-check's own descriptor of List's map field is rejected by
 * Go-based tools such as grpcurl.
 */
export const HEALTH_PROTO_FILE = 'server/api/reflection/health.proto';

/** The installation's root directory, found from source (server/) and build (dist/server/) alike. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'proto', 'cairn', 'v1', 'kv.proto'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the proto/ directory of the Cairn installation');
}
