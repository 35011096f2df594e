import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SnapshotRequest, SnapshotResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { BackupPiece } from '../mvcc/backup-export.js';
import { toServiceError } from './errors.js';
import type { SnapshotStreamSlots } from './snapshot-stream-slots.js';

/**
 * What a Snapshot handler streams from, for cairn.v1's (here) and etcd's
 * (etcd/snapshot-stream.ts), which differ only in their response header type.
 */
export interface SnapshotStreamDeps<Header = ResponseHeader> {
  /** A fresh backup stream (mvcc/backup-export.ts) over one engine snapshot. */
  readonly backup: () => AsyncGenerator<BackupPiece>;
  /** The engine's estimate of the stream's size, for the client's progress bar (0: none). */
  readonly estimateBytes: () => Promise<number>;
  readonly header: () => Header;
  readonly version: string;
  /** The member's one bound on backup streams, shared with etcd's Snapshot. */
  readonly slots: SnapshotStreamSlots;
  readonly logger: Logger;
}

/**
 * Maintenance.Snapshot. The next piece is read from the engine only once the transport took
 * the previous one (write() true, or 'drain'), so a slow client slows the reader down and
 * the member holds one chunk per stream, never the store. A cancelled call stops the
 * reader, which releases its engine snapshot.
 */
export function snapshotStreamHandler(deps: SnapshotStreamDeps): (call: ServerWritableStream<SnapshotRequest, SnapshotResponse>) => void {
  return (call) => deps.slots.serve(call, () => stream(call, deps), toServiceError, deps.logger);
}

async function stream(call: ServerWritableStream<SnapshotRequest, SnapshotResponse>, deps: SnapshotStreamDeps): Promise<void> {
  const started = performance.now();
  let bytes = 0;
  let first = true;
  const estimatedBytes = await deps.estimateBytes();
  // The iterator (and its engine snapshot) opens on the first next(), after the estimate.
  const pieces = deps.backup();
  try {
    for await (const piece of pieces) {
      if (call.cancelled) return;
      const response: SnapshotResponse = {
        header: first ? deps.header() : undefined,
        blob: piece.blob,
        revision: piece.revision ?? 0,
        version: first ? deps.version : '',
        estimatedBytes: first ? estimatedBytes : 0,
      };
      first = false;
      bytes += piece.blob.length;
      if (!call.write(response)) await drainedOrCancelled(call);
    }
  } finally {
    // Ends the engine iterator when the loop stopped early (cancel, failure).
    await pieces.return(undefined);
  }
  deps.logger.info({ bytes, ms: Math.round(performance.now() - started) }, 'snapshot sent');
}

/** Resolves once the transport takes more (write() said false) or the client is gone. */
export function drainedOrCancelled<Req, Res>(call: ServerWritableStream<Req, Res>): Promise<void> {
  if (call.cancelled) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}
