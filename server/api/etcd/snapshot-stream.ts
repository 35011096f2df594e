import { createHash } from 'node:crypto';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ResponseHeader, SnapshotRequest, SnapshotResponse } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { drainedOrCancelled, type SnapshotStreamDeps } from '../snapshot-stream.js';
import { toEtcdServiceError } from './rpctypes.js';

/** etcd's snapshot files end with a SHA-256 and are sized so: (size % 512) == 32 (etcd's hasChecksum). */
const SECTOR_BYTES = 512;
const LENGTH_BYTES = 8;

/**
 * The bytes etcd's Snapshot stream carries for Cairn: Cairn's backup (as `cairn snapshot
 * save` writes it) wrapped so that etcd's clients accept the file:
 *
 *   Cairn backup | zero bytes | u64 big-endian length of the Cairn backup | SHA-256 of all before
 *
 * with as many zero bytes (0 to 511) as make the size 32 more than a multiple of 512, which
 * is all `etcdctl snapshot save` checks. The file is not a bbolt database: etcdutl cannot
 * restore it; the Cairn backup is its first `length` bytes (see docs/etcd-compatibility.md).
 */
export function etcdSnapshotTrailer(backupBytes: number, digestSoFar: ReturnType<typeof createHash>): Buffer {
  const padding = (SECTOR_BYTES - ((backupBytes + LENGTH_BYTES) % SECTOR_BYTES)) % SECTOR_BYTES;
  const tail = Buffer.alloc(padding + LENGTH_BYTES);
  tail.writeBigUInt64BE(BigInt(backupBytes), padding);
  digestSoFar.update(tail);
  return Buffer.concat([tail, digestSoFar.digest()]);
}

/**
 * Maintenance.Snapshot for etcd's clients; paced by the transport like snapshot-stream.ts,
 * from the same dependencies with etcd's response header (and the same slots).
 */
export function etcdSnapshotHandler(
  deps: SnapshotStreamDeps<ResponseHeader>,
): (call: ServerWritableStream<SnapshotRequest, SnapshotResponse>) => void {
  return (call) => deps.slots.serve(call, () => stream(call, deps), toEtcdServiceError, deps.logger);
}

async function stream(
  call: ServerWritableStream<SnapshotRequest, SnapshotResponse>,
  deps: SnapshotStreamDeps<ResponseHeader>,
): Promise<void> {
  const estimated = await deps.estimateBytes();
  const digest = createHash('sha256');
  let sent = 0;
  let first = true;
  const send = async (blob: Buffer, remainingBytes: number): Promise<void> => {
    const response: SnapshotResponse = {
      header: first ? deps.header() : undefined,
      remainingBytes,
      blob,
      version: first ? deps.version : '',
    };
    first = false;
    if (!call.write(response)) await drainedOrCancelled(call);
  };
  const pieces = deps.backup();
  try {
    for await (const piece of pieces) {
      if (call.cancelled) return;
      digest.update(piece.blob);
      sent += piece.blob.length;
      // An estimate: the engine's size, not the stream's; never below what is still to come.
      await send(piece.blob, Math.max(estimated - sent, 1));
    }
  } finally {
    await pieces.return(undefined);
  }
  if (call.cancelled) return;
  await send(etcdSnapshotTrailer(sent, digest), 0);
  deps.logger.info({ bytes: sent }, 'etcd snapshot sent');
}
