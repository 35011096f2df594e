import type { StorageEngine } from './engine.js';

/** An engine that can compact a key range of its tables on demand (LevelDB's CompactRange). */
export interface RangeCompactable {
  compactRange(start: Buffer, end: Buffer): Promise<boolean>;
}

/** Every key Cairn stores sorts below this (they start with a keyspace letter). */
const END_OF_KEYS = Buffer.alloc(16, 0xff);

/**
 * Asks the engine to compact all its tables now, so that the space of deleted keys (their
 * tombstones and the values they hide) is given back to the disk instead of waiting for the
 * engine's own compactions, which only follow new writes; a store stopped by its space
 * quota writes little. Resolves to false when the engine cannot be asked: RocksDB through
 * @nxtedition/rocksdb has no CompactRange binding, and compacts only as writes flow.
 */
export async function compactEngine(engine: StorageEngine): Promise<boolean> {
  if (!isRangeCompactable(engine)) return false;
  // Twice: LevelDB chooses the levels to compact before it flushes the memtable, so the
  // first call only flushes recent deletes into a table, and the second merges them away.
  if (!(await engine.compactRange(Buffer.alloc(0), END_OF_KEYS))) return false;
  return engine.compactRange(Buffer.alloc(0), END_OF_KEYS);
}

function isRangeCompactable(engine: StorageEngine): engine is StorageEngine & RangeCompactable {
  return typeof (engine as Partial<RangeCompactable>).compactRange === 'function';
}
