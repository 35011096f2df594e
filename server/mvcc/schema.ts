import { StorageErrorCode, StorageIntegrityError } from '../storage/storage-error.js';
import { EMPTY_STORE_REVISION, readRevision, REVISION_BYTES, writeRevision, type Revision } from './revision.js';

/**
 * How the node's one database is divided. Every stored key starts with a one-byte prefix
 * naming its keyspace, so one atomic batch can span keyspaces on any engine.
 *
 *   'k' + revision(16) [+ 't']   one version of one key, by revision; 't' marks a delete
 *   'm' + name                   store metadata (applied index, compaction progress)
 *   'mlease/' + id(8)            one lease (a LeaseRecord; see lease-table.ts)
 *   'malarm/' + type + member    one active alarm (see apply/alarm-store.ts)
 *   'r', 'h', 's'                the Raft log, hard state and snapshot metadata (server/storage/)
 */
export const MVCC_PREFIX = 0x6b;
const TOMBSTONE_MARK = 0x74;

export const MVCC_SPAN = { gte: Buffer.from([MVCC_PREFIX]), lt: Buffer.from([MVCC_PREFIX + 1]) } as const;

export function revisionKey(rev: Revision, tombstone: boolean): Buffer {
  const key = Buffer.allocUnsafe(1 + REVISION_BYTES + (tombstone ? 1 : 0));
  key[0] = MVCC_PREFIX;
  writeRevision(key, 1, rev);
  if (tombstone) key[1 + REVISION_BYTES] = TOMBSTONE_MARK;
  return key;
}

/** The smallest stored key at or after store revision main. */
export function revisionLowerBound(main: number): Buffer {
  return revisionKey({ main, sub: 0 }, false);
}

/** A stored key that is not one Cairn writes is damage on disk: refused, never guessed at. */
export function parseRevisionKey(key: Buffer): { rev: Revision; tombstone: boolean } {
  const tombstone = key.length === 2 + REVISION_BYTES;
  if (
    !(key.length === 1 + REVISION_BYTES || tombstone) ||
    key[0] !== MVCC_PREFIX ||
    (tombstone && key[1 + REVISION_BYTES] !== TOMBSTONE_MARK)
  ) {
    throw corrupt(`malformed revision key ${key.toString('hex')} (${key.length} bytes)`);
  }
  const rev = readRevision(key, 1);
  if (!Number.isSafeInteger(rev.main) || !Number.isSafeInteger(rev.sub)) throw corrupt(`revision key ${key.toString('hex')} out of range`);
  return { rev, tombstone };
}

export const META_KEYS = {
  /** Index of the last applied command; written with the changes it produced. */
  consistentIndex: Buffer.from('mconsistent_index'),
  /** The store revision after the last applied command (kept even if no key is left). */
  currentRevision: Buffer.from('mcurrent_revision'),
  /** Compaction agreed on: reads below it fail. */
  compactedRevision: Buffer.from('mcompacted_revision'),
  /** Compaction whose physical deletion finished. */
  compactionDone: Buffer.from('mcompaction_done'),
} as const;

export function encodeCounter(value: number): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeUInt32BE(Math.floor(value / 2 ** 32), 0);
  buf.writeUInt32BE(value >>> 0, 4);
  return buf;
}

/**
 * The store revision a current-revision record holds. No record means nothing was ever
 * applied to this store: a fresh one, at EMPTY_STORE_REVISION. A store that applied anything
 * has the record (every commit writes it), so a store initialised when revisions still
 * started at 0 keeps its numbering, including one still at 0; nothing stored is renumbered.
 * Backups and snapshots are copies of these records, so they carry the same answer.
 */
export function decodeCurrentRevision(record: Buffer | undefined): number {
  return record === undefined ? EMPTY_STORE_REVISION : decodeCounter(record, 'current revision');
}

export function decodeCounter(buf: Buffer | undefined, what = 'stored counter'): number {
  if (buf === undefined) return 0;
  if (buf.length !== 8) throw corrupt(`${what}: ${buf.length} bytes instead of 8`);
  const value = buf.readUInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4);
  if (!Number.isSafeInteger(value)) throw corrupt(`${what}: ${buf.toString('hex')} out of range`);
  return value;
}

function corrupt(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.CorruptRecord, message);
}

/** Leases live in the metadata keyspace, so that snapshots carry them with everything else. */
const LEASE_KEY_PREFIX = Buffer.from('mlease/');
export const LEASE_SPAN = { gte: LEASE_KEY_PREFIX, lt: Buffer.from('mlease0') } as const;

export function leaseKey(id: number): Buffer {
  return Buffer.concat([LEASE_KEY_PREFIX, encodeCounter(id)]);
}
