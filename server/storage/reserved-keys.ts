/**
 * Keys of the node database outside the MVCC keyspaces ('k', 'm'; see mvcc/schema.ts):
 *
 *   'r' + index(8, big-endian)  one Raft log entry (framed, checksummed)
 *   'h'                         Raft hard state
 *   'ss'                        metadata of the latest state-machine snapshot
 *   'st'                        index and term of the last discarded log entry (log start)
 *   'si' + key                  a snapshot import being staged (see mvcc/snapshot.ts)
 *   'sa'                        marker: a validated import is being applied
 *   'o'                         the member that owns this database (engine-owner.ts)
 *
 * Big-endian indexes make key order equal log order, so scans walk the log in order.
 */
export const RAFT_ENTRY_PREFIX = 0x72; // 'r'
export const RAFT_ENTRY_KEY_BYTES = 9;
export const RAFT_LOG_SPAN = { gte: Buffer.from([RAFT_ENTRY_PREFIX]), lt: Buffer.from([RAFT_ENTRY_PREFIX + 1]) } as const;

export const HARD_STATE_KEY = Buffer.from('h');
export const SNAPSHOT_META_KEY = Buffer.from('ss');
export const LOG_START_KEY = Buffer.from('st');

export const IMPORT_STAGING_PREFIX = Buffer.from('si');
export const IMPORT_STAGING_SPAN = { gte: IMPORT_STAGING_PREFIX, lt: Buffer.from('sj') } as const;
export const IMPORT_MARKER_KEY = Buffer.from('sa');
export const OWNER_KEY = Buffer.from('o');

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(RAFT_ENTRY_KEY_BYTES);
  key[0] = RAFT_ENTRY_PREFIX;
  key.writeUInt32BE(Math.floor(index / 2 ** 32), 1);
  key.writeUInt32BE(index >>> 0, 5);
  return key;
}

/** The index of an entry key, or undefined when the key is not a well-formed entry key. */
export function parseEntryKey(key: Buffer): number | undefined {
  if (key.length !== RAFT_ENTRY_KEY_BYTES || key[0] !== RAFT_ENTRY_PREFIX) return undefined;
  const index = key.readUInt32BE(1) * 2 ** 32 + key.readUInt32BE(5);
  return Number.isSafeInteger(index) ? index : undefined;
}
