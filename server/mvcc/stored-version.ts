import { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { invariant } from '../invariant.js';
import { varintSize, writeVarint } from '../varint.js';
import { StorageErrorCode, StorageIntegrityError } from '../storage/storage-error.js';
import type { Revision } from './revision.js';
import { parseRevisionKey } from './schema.js';

/** One stored version of a key, as read back from the 'k' keyspace. */
export interface StoredVersion {
  readonly rev: Revision;
  readonly tombstone: boolean;
  readonly kv: KeyValue;
}

/**
 * Decodes a stored version and checks it against its own key: a record that does not
 * describe the revision it is stored under was damaged (or written by something else),
 * and is refused with a StorageIntegrityError naming it rather than fed to the key index.
 */
export function decodeStoredVersion(key: Buffer, value: Buffer): StoredVersion {
  const { rev, tombstone } = parseRevisionKey(key);
  const what = `stored ${tombstone ? 'delete' : 'version'} at revision ${rev.main}.${rev.sub}`;
  let kv: KeyValue;
  try {
    kv = KeyValue.decode(value);
  } catch (err) {
    throw corrupt(`${what}: undecodable record (${err instanceof Error ? err.message : String(err)})`);
  }
  if (kv.key.length === 0) throw corrupt(`${what}: empty key`);
  if (kv.modRevision !== rev.main) throw corrupt(`${what}: record says mod_revision ${kv.modRevision}`);
  if (!tombstone && !(kv.createRevision >= 1 && kv.createRevision <= rev.main && kv.version >= 1)) {
    throw corrupt(`${what}: impossible create_revision ${kv.createRevision} / version ${kv.version}`);
  }
  return { rev, tombstone, kv };
}

/**
 * The record of one stored version: the bytes KeyValue.encode writes, in one allocation of
 * their exact size. The generated writer grows its buffer by doubling and copies the result
 * twice (finish(), then Buffer.from); once per put of every transaction, that was a tenth of
 * a bulk load's CPU (docs/benchmarks.md, session 8). A field the fast path does not cover
 * (a negative or unsafe integer: none of Cairn's own revisions, versions or lease ids) goes
 * through the generated encoder.
 */
export function encodeStoredVersion(kv: KeyValue): Buffer {
  const { key, value, createRevision, modRevision, version, lease } = kv;
  if (!(isVarint(createRevision) && isVarint(modRevision) && isVarint(version) && isVarint(lease))) {
    return Buffer.from(KeyValue.encode(kv).finish());
  }
  // Fields in field-number order and defaults left out, as the generated encoder does.
  const size =
    bytesFieldSize(key.length) +
    intFieldSize(createRevision) +
    intFieldSize(modRevision) +
    intFieldSize(version) +
    bytesFieldSize(value.length) +
    intFieldSize(lease);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (key.length !== 0) pos = writeBytes(out, pos, 0x0a, key);
  if (createRevision !== 0) pos = writeInt(out, pos, 0x10, createRevision);
  if (modRevision !== 0) pos = writeInt(out, pos, 0x18, modRevision);
  if (version !== 0) pos = writeInt(out, pos, 0x20, version);
  if (value.length !== 0) pos = writeBytes(out, pos, 0x2a, value);
  if (lease !== 0) pos = writeInt(out, pos, 0x30, lease);
  invariant(pos === size, () => `stored version encoded to ${pos} bytes, sized ${size}`);
  return out;
}

/** Non-negative safe integers: their int64 varint is their plain base-128 varint. */
function isVarint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function intFieldSize(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

function bytesFieldSize(length: number): number {
  return length === 0 ? 0 : 1 + varintSize(length) + length;
}

function writeInt(out: Buffer, pos: number, tag: number, n: number): number {
  out[pos] = tag;
  return writeVarint(out, pos + 1, n);
}

function writeBytes(out: Buffer, pos: number, tag: number, bytes: Uint8Array): number {
  out[pos] = tag;
  pos = writeVarint(out, pos + 1, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}

/** A stored version's value alone (reads by revision); the same checks. */
export function decodeStoredPut(key: Buffer, value: Buffer): KeyValue {
  return decodeStoredVersion(key, value).kv;
}

function corrupt(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.CorruptRecord, message);
}
