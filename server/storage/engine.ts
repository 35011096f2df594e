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
   * Compacts the engine's files over the whole key space, so that deleted keys stop taking
   * disk space; resolves false, doing nothing, when the engine's binding cannot.
   */
  compactAll?(): Promise<boolean>;
  /** The engine's estimate of the bytes its live data takes, or undefined without one. */
  liveDataBytes?(): Promise<number | undefined>;
}
