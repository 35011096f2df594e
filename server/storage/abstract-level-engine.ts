import type { BatchOp, ScanRange, StorageEngine } from './engine.js';
import type { WalSyncer } from './wal-syncer.js';

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
  iterator(options: Record<string, unknown>): AsyncIterable<[Buffer, Buffer]> & { close(): Promise<void> };
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
 * Bytes an engine iterator may prefetch: RocksDB otherwise reads ahead a fixed number of
 * entries whatever their size (about 1 GiB of 1 MiB values).
 */
const SCAN_PREFETCH_BYTES = 1024 * 1024;

/**
 * Every key Cairn stores starts with an ASCII keyspace byte (mvcc/schema.ts,
 * reserved-keys.ts), so these bounds take in the whole database.
 */
const WHOLE_SPACE_START = Buffer.from([0x00]);
const WHOLE_SPACE_END = Buffer.from([0xff]);

/**
 * Adapts an abstract-level database opened with buffer keys and values. With a WalSyncer,
 * a synced write is written unsynced and then made durable by it, off the event loop (see
 * wal-syncer.ts for why and why that is as durable).
 */
export class AbstractLevelEngine implements StorageEngine {
  constructor(
    readonly name: string,
    private readonly db: AbstractLevelLike,
    private readonly walSyncer?: WalSyncer,
  ) {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    // getMany answers undefined for a missing key on every abstract-level version, whereas
    // get() throws on v1 and returns undefined on v2+.
    const [value] = await this.db.getMany([key]);
    return value ?? undefined;
  }

  async getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.db.getMany(keys);
    return values.map((v) => v ?? undefined);
  }

  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const options: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(range)) if (value !== undefined) options[name] = value;
    if (range.limit === undefined) options['limit'] = -1;
    // RocksDB's iterator otherwise prefetches 1000 entries whatever their size: 1 GiB of
    // 1 MiB values (a snapshot export or import scanning the store). Bounded in bytes, a
    // scan holds about this much plus one entry.
    options['highWaterMarkBytes'] = SCAN_PREFETCH_BYTES;
    const iterator = this.db.iterator(options);
    try {
      for await (const entry of iterator) yield entry;
    } finally {
      await iterator.close();
    }
  }

  async write(ops: BatchOp[], options: { sync: boolean }): Promise<void> {
    if (ops.length === 0) return;
    if (options.sync && this.walSyncer !== undefined) {
      await this.writeBatch(ops, false);
      await this.walSyncer.sync();
      return;
    }
    await this.writeBatch(ops, options.sync);
  }

  /** A chained batch, written and so closed (see AbstractLevelLike.batch for why not the array form). */
  private async writeBatch(ops: BatchOp[], sync: boolean): Promise<void> {
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    await batch.write({ sync });
  }

  async close(): Promise<void> {
    await this.walSyncer?.close();
    await this.db.close();
  }

  async compactAll(): Promise<boolean> {
    if (typeof this.db.compactRange !== 'function') return false;
    await this.db.compactRange(WHOLE_SPACE_START, WHOLE_SPACE_END);
    return true;
  }

  async liveDataBytes(): Promise<number | undefined> {
    if (typeof this.db.getProperty === 'function') {
      const estimate = Number(this.db.getProperty('rocksdb.estimate-live-data-size'));
      return Number.isSafeInteger(estimate) && estimate >= 0 ? estimate : undefined;
    }
    if (typeof this.db.approximateSize === 'function') return this.db.approximateSize(WHOLE_SPACE_START, WHOLE_SPACE_END);
    return undefined;
  }

  /** The engine's CompactRange where it has one (classic-level); false where not (storage/engine-compaction.ts). */
  async compactRange(start: Buffer, end: Buffer): Promise<boolean> {
    if (typeof this.db.compactRange !== 'function') return false;
    await this.db.compactRange(start, end);
    return true;
  }
}
