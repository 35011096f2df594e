/** The subset of abstract-level (v1 to v3) that Cairn relies on. */
export interface AbstractLevelLike {
  open(): Promise<void>;
  close(): Promise<void>;
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  /**
   * The chained form only: @nxtedition/rocksdb 12.x's array form (and its put/del) builds a
   * chained batch that it writes but never closes, so the batch stays in the database's
   * resource set, holding its native WriteBatch (every byte written) until the database
   * closes. A chained batch's write() closes it (bench/engine-memory.ts measures this).
   */
  batch(): ChainedBatchLike;
  iterator(options: Record<string, unknown>): LevelIteratorLike;
  /** classic-level (LevelDB) has it; @nxtedition/rocksdb (12.x) does not. */
  compactRange?(start: Buffer, end: Buffer): Promise<void>;
  /** classic-level (LevelDB). */
  approximateSize?(start: Buffer, end: Buffer): Promise<number>;
  /** @nxtedition/rocksdb: a RocksDB property, as a string. */
  getProperty?(name: string): string;
}

/** abstract-level's chained batch. */
export interface ChainedBatchLike {
  put(key: Buffer, value: Buffer): unknown;
  del(key: Buffer): unknown;
  write(options: { sync: boolean }): Promise<void>;
}

/**
 * abstract-level's iterator, stepped one entry at a time: next() resolves undefined at the
 * end (v1's promise form and v3 agree); close() after the database closed it is harmless.
 */
export interface LevelIteratorLike {
  next(): Promise<[Buffer, Buffer] | undefined>;
  close(): Promise<void>;
}
