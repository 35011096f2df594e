import { KeyValue } from '../../gen/ts/cairn/v1/types.js';
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

/** A stored version's value alone (reads by revision); the same checks. */
export function decodeStoredPut(key: Buffer, value: Buffer): KeyValue {
  return decodeStoredVersion(key, value).kv;
}

function corrupt(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.CorruptRecord, message);
}
