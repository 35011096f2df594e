/**
 * The storage engine seen by the rest of Cairn: one ordered byte-keyed database per node,
 * with atomic batches and synced writes. RocksDB (default) and LevelDB both implement the
 * abstract-level API; this thin adapter hides the differences between their versions so
 * one contract test suite can hold both to the same behaviour.
 */

export interface PutOp {
  type: 'put';
  key: Buffer;
  value: Buffer;
}
export interface DelOp {
  type: 'del';
  key: Buffer;
}
export type BatchOp = PutOp | DelOp;

/** Bounds of an ordered scan. Unset bounds are open. */
export interface ScanRange {
  gte?: Buffer;
  gt?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
  reverse?: boolean;
  limit?: number;
}

export interface StorageEngine {
  readonly name: string;
  get(key: Buffer): Promise<Buffer | undefined>;
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  /** Entries in key order (or reverse), within the range. */
  scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]>;
  /** Applies every op or none. With sync, resolves only after the data reached the disk. */
  write(ops: BatchOp[], options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
  /**
   * Compacts the engine's tables in place over the whole key space (CompactRange), cheaply
   * and without holding writes back; resolves false, doing nothing, where the binding has no
   * CompactRange (@nxtedition/rocksdb). The MVCC compactor and the space quota call it.
   */
  compactAll?(): Promise<boolean>;
  /**
   * Gives the space of deleted data back to the disk now, on every engine: in place where
   * compactAll() can, else by copying the live data into fresh files and swapping them in,
   * writes held back meanwhile (etcd's defragment). Rejects with NoRoomForCopyError
   * (storage/engine-rebuild.ts), having changed nothing, when the disk cannot hold the copy.
   */
  defragment?(): Promise<DefragmentReport>;
  /** The engine's estimate of the bytes its live data takes, or undefined without one. */
  liveDataBytes?(): Promise<number | undefined>;
}

/** What a defragment did and cost. */
export interface DefragmentReport {
  /** compact-range: the engine's CompactRange (LevelDB); copy: rebuilt by copy (RocksDB). */
  readonly method: 'compact-range' | 'copy';
  /** How long writes were held back (0 for compact-range, which does not hold them). */
  readonly writePauseMs: number;
  /** Bytes of keys and values copied (0 for compact-range). */
  readonly copiedBytes: number;
}
