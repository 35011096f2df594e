import type { BatchOp, ScanRange, StorageEngine } from './engine.js';

/** The subset of abstract-level (v1 to v3) that Cairn relies on. */
export interface AbstractLevelLike {
  open(): Promise<void>;
  close(): Promise<void>;
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  batch(ops: BatchOp[], options: { sync: boolean }): Promise<void>;
  iterator(options: Record<string, unknown>): AsyncIterable<[Buffer, Buffer]> & { close(): Promise<void> };
}

const SCAN_PREFETCH_BYTES = 1024 * 1024;

/** Adapts an abstract-level database opened with buffer keys and values. */
export class AbstractLevelEngine implements StorageEngine {
  constructor(
    readonly name: string,
    private readonly db: AbstractLevelLike,
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
    await this.db.batch(ops, { sync: options.sync });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
