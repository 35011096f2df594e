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
}
