import {
  EntryType as ProtoEntryType,
  Entry as ProtoEntry,
  HardState as ProtoHardState,
  SnapshotMetadata as ProtoSnapshotMetadata,
} from '../../gen/ts/cairn/raft/v1/raft.js';
import type { ConfState, Entry, EntryType, HardState } from '../raft/types.js';
import { crc32 } from './crc32.js';
import { StorageErrorCode, StorageIntegrityError } from './storage-error.js';

/**
 * On-disk records of the Raft log store: 4-byte big-endian CRC-32 of the payload, then the
 * payload (a cairn.raft.v1 proto). The checksum turns bit rot into a refusal at open
 * instead of a silently different log.
 */
const CRC_BYTES = 4;

/** Index and term of a log position: the snapshot point, or the last discarded entry. */
export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

export interface SnapshotMeta extends LogPosition {
  readonly confState: ConfState;
}

export function frame(payload: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(CRC_BYTES + payload.byteLength);
  record.writeUInt32BE(crc32(payload), 0);
  record.set(payload, CRC_BYTES);
  return record;
}

/** The payload of a framed record; throws naming `what` when the checksum does not match. */
export function unframe(record: Buffer, what: string): Buffer {
  if (record.length < CRC_BYTES) throw corrupt(`${what}: record of ${record.length} bytes is too short`);
  const payload = record.subarray(CRC_BYTES);
  const stored = record.readUInt32BE(0);
  const actual = crc32(payload);
  if (stored !== actual) throw corrupt(`${what}: checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
  return payload;
}

export function encodeEntry(e: Entry): Buffer {
  return frame(ProtoEntry.encode({ index: e.index, term: e.term, type: toProtoType(e.type), data: asBuffer(e.data) }).finish());
}

/** Decodes the record stored under `index` and checks it really is that entry. */
export function decodeEntry(record: Buffer, index: number): Entry {
  const what = `raft log entry ${index}`;
  const p = decode(what, () => ProtoEntry.decode(unframe(record, what)));
  if (p.index !== index) throw corrupt(`${what}: record holds index ${p.index}`);
  // A copy: the engine's buffer may be pooled, and the core expects plain bytes.
  return { index: p.index, term: p.term, type: fromProtoType(p.type, what), data: new Uint8Array(p.data) };
}

export function encodeHardState(hs: HardState): Buffer {
  return frame(ProtoHardState.encode({ term: hs.term, vote: hs.vote, commit: hs.commit }).finish());
}

export function decodeHardState(record: Buffer): HardState {
  const p = decode('raft hard state', () => ProtoHardState.decode(unframe(record, 'raft hard state')));
  return { term: p.term, vote: p.vote, commit: p.commit };
}

export function encodeSnapshotMeta(meta: SnapshotMeta): Buffer {
  const confState = { voters: [...meta.confState.voters], learners: [...(meta.confState.learners ?? [])] };
  return frame(ProtoSnapshotMetadata.encode({ index: meta.index, term: meta.term, confState }).finish());
}

export function decodeSnapshotMeta(record: Buffer): SnapshotMeta {
  const what = 'raft snapshot metadata';
  const p = decode(what, () => ProtoSnapshotMetadata.decode(unframe(record, what)));
  const voters = p.confState?.voters ?? [];
  const learners = p.confState?.learners ?? [];
  // `learners` only when there are some: the same ConfState as before learners existed.
  return { index: p.index, term: p.term, confState: learners.length > 0 ? { voters, learners } : { voters } };
}

/** The log start is stored as the "dummy" entry of MemoryRaftStorage: index and term only. */
export function encodeLogStart(pos: LogPosition): Buffer {
  return encodeEntry({ index: pos.index, term: pos.term, type: 'normal', data: new Uint8Array(0) });
}

export function decodeLogStart(record: Buffer): LogPosition {
  const what = 'raft log start';
  const p = decode(what, () => ProtoEntry.decode(unframe(record, what)));
  return { index: p.index, term: p.term };
}

function toProtoType(type: EntryType): ProtoEntryType {
  return type === 'conf-change' ? ProtoEntryType.ENTRY_TYPE_CONF_CHANGE : ProtoEntryType.ENTRY_TYPE_NORMAL;
}

function fromProtoType(type: ProtoEntryType, what: string): EntryType {
  if (type === ProtoEntryType.ENTRY_TYPE_NORMAL) return 'normal';
  if (type === ProtoEntryType.ENTRY_TYPE_CONF_CHANGE) return 'conf-change';
  throw corrupt(`${what}: unknown entry type ${type}`);
}

/** A checksummed payload that still fails to decode is corruption too (or a foreign writer). */
function decode<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof StorageIntegrityError) throw err;
    throw corrupt(`${what}: undecodable record (${err instanceof Error ? err.message : String(err)})`);
  }
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function corrupt(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.CorruptRecord, message);
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
