import { createHash } from 'node:crypto';
import type { ScanRange, StorageEngine } from '../storage/engine.js';
import { decodeCurrentRevision, META_KEYS, MVCC_PREFIX } from './schema.js';
import { SnapshotEncoder } from './snapshot-format.js';

/**
 * A backup, as Maintenance.Snapshot streams it and `cairn snapshot save` writes it:
 *
 *   the state-machine snapshot stream (snapshot-format.ts: framed records, CRC-32 trailer)
 *   SHA-256 of every byte before it (32 bytes)
 *
 * The CRC-32 guards the stream's structure, as for peer snapshots; the SHA-256 names the
 * file as a whole (as etcd appends one to its database) and is what `cairn snapshot save`
 * prints and `restore` checks.
 */
export const BACKUP_DIGEST_BYTES = 32;

/** One piece of a backup stream; the last one carries the revision the backup holds. */
export interface BackupPiece {
  readonly blob: Buffer;
  /** Set on the last piece only: the store revision recorded in the snapshot. */
  readonly revision?: number;
}

const META_PREFIX = 0x6d; // 'm', see schema.ts
/** 'k' through 'm' in one iterator, hence one engine snapshot: one revision, applied entirely. */
const BACKUP_SPAN: ScanRange = { gte: Buffer.from([MVCC_PREFIX]), lt: Buffer.from([META_PREFIX + 1]) };
const isStateKey = (key: Buffer): boolean => key.length > 0 && (key[0] === MVCC_PREFIX || key[0] === META_PREFIX);
const DEFAULT_CHUNK_BYTES = 256 * 1024;

/**
 * Streams a backup of the store, read incrementally through one engine iterator: memory is
 * one chunk, whatever the store's size. The iterator's implicit snapshot makes the copy
 * consistent: every key as of one applied batch, whose revision is the 'm' record of the
 * current revision (read on the way, since it comes after the revisions in key order).
 * The consumer's pace is the reader's: nothing is read ahead of what it takes.
 */
export async function* exportBackup(engine: StorageEngine, chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<BackupPiece> {
  const encoder = new SnapshotEncoder();
  const digest = createHash('sha256');
  // A store nothing was applied to has no current-revision record.
  let revision = decodeCurrentRevision(undefined);
  let pending: Buffer[] = [encoder.header()];
  let size = pending[0]!.length;
  for await (const [key, value] of engine.scan(BACKUP_SPAN)) {
    if (!isStateKey(key)) continue; // 'l' and the like are no part of the state machine
    if (key.equals(META_KEYS.currentRevision)) revision = decodeCurrentRevision(value);
    const frame = encoder.record(key, value);
    pending.push(frame);
    size += frame.length;
    if (size >= chunkBytes) {
      const blob = Buffer.concat(pending, size);
      digest.update(blob);
      yield { blob };
      pending = [];
      size = 0;
    }
  }
  pending.push(encoder.trailer());
  const tail = Buffer.concat(pending);
  digest.update(tail);
  yield { blob: Buffer.concat([tail, digest.digest()]), revision };
}
