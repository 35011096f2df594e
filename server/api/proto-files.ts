import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The public .proto files, for server reflection. Found from source (server/) and build (dist/server/) alike. */
export const PUBLIC_PROTO_FILES = ['cairn/v1/kv.proto', 'cairn/v1/watch.proto', 'cairn/v1/types.proto'];

export function protoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, 'cairn/v1/kv.proto'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the proto/ directory next to the Cairn installation');
}
