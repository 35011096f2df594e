import type { AbstractLevelLike, LevelIteratorLike } from './abstract-level-like.js';
import type { BatchOp, DefragmentReport, ScanRange, StorageEngine } from './engine.js';
import { EngineGate } from './engine-gate.js';
import { checkRoomForCopy, writeReadyCopy, type RebuildStep } from './engine-rebuild.js';
import { recoverEngineSwap, swapInCopy } from './engine-swap.js';
import { logGeneration, WalSyncer } from './wal-syncer.js';

export type { AbstractLevelLike, ChainedBatchLike } from './abstract-level-like.js';

/** Where an engine's files are and how to open a database like it elsewhere: what a rebuild by copy needs. */
export interface EngineFiles {
  /** The engine's directory. */
  readonly location: string;
  /** Opens a database of the engine, with the same options, at a directory (created if missing). */
  open(location: string): Promise<AbstractLevelLike>;
  /** RocksDB's synced writes go through a WalSyncer of its directory (wal-syncer.ts). */
  readonly syncsWal: boolean;
}

export interface AbstractLevelEngineOptions {
  /** Syncs the write-ahead log of synced writes off the event loop (wal-syncer.ts). */
  readonly walSyncer?: WalSyncer;
  /** Without it, defragment() works only where the binding has CompactRange. */
  readonly files?: EngineFiles;
  /** Called at each point of a rebuild by copy (the crash tests stop the process there). */
  readonly onRebuildStep?: (step: RebuildStep) => Promise<void>;
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
 *
 * The database handle may be replaced while the engine is in use (defragment() on RocksDB
 * rebuilds the files by copy): every use goes through an EngineGate, and a scan steps its
 * iterator through it, reopening it past its last entry on the new handle after a swap.
 */
export class AbstractLevelEngine implements StorageEngine {
  private db: AbstractLevelLike;
  private walSyncer: WalSyncer | undefined;
  /** Counts the handles: a scan whose iterator belongs to an older one reopens it. */
  private generation = 0;
  private readonly gate = new EngineGate();
  private defragmenting: Promise<DefragmentReport> | undefined;
  private closing = false;

  constructor(
    readonly name: string,
    db: AbstractLevelLike,
    private readonly options: AbstractLevelEngineOptions = {},
  ) {
    this.db = db;
    this.walSyncer = options.walSyncer;
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    // getMany answers undefined for a missing key on every abstract-level version, whereas
    // get() throws on v1 and returns undefined on v2+.
    const [value] = await this.gate.read(() => this.db.getMany([key]));
    return value ?? undefined;
  }

  async getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.gate.read(() => this.db.getMany(keys));
    return values.map((v) => v ?? undefined);
  }

  async *scan(range: ScanRange): AsyncIterable<[Buffer, Buffer]> {
    const options = iteratorOptions(range);
    let iterator: LevelIteratorLike | undefined;
    let generation = -1;
    let last: Buffer | undefined;
    let yielded = 0;
    try {
      for (;;) {
        // One step at a time through the gate, never across a yield: the consumer may write
        // between two entries, and a rebuild holding writes back waits for the readers.
        const entry = await this.gate.read(async () => {
          if (generation !== this.generation) {
            // The old handle closed its iterators; the data is the same (writes were held
            // back from the copy to the swap), so the scan goes on just past its last entry.
            iterator = this.db.iterator(resumedOptions(options, range.reverse === true, last, yielded));
            generation = this.generation;
          }
          return iterator!.next();
        });
        if (entry === undefined) return;
        last = entry[0];
        yielded++;
        yield entry;
      }
    } finally {
      const open = iterator;
      if (open !== undefined) await this.gate.read(() => open.close());
    }
  }

  async write(ops: BatchOp[], options: { sync: boolean }): Promise<void> {
    if (ops.length === 0) return;
    await this.gate.write(async () => {
      const walSyncer = this.walSyncer;
      if (options.sync && walSyncer !== undefined) {
        await this.writeBatch(ops, false);
        await walSyncer.sync();
        return;
      }
      await this.writeBatch(ops, options.sync);
    });
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
    this.closing = true;
    await this.defragmenting?.catch(() => undefined);
    await this.walSyncer?.close();
    await this.db.close();
  }

  /**
   * The engine's CompactRange over the whole key space, where the binding has one
   * (classic-level); false where not (@nxtedition/rocksdb). Twice: LevelDB chooses the
   * levels to compact before it flushes the memtable, so the first call only flushes recent
   * deletes into a table, and the second merges them away.
   */
  async compactAll(): Promise<boolean> {
    const db = this.db;
    if (typeof db.compactRange !== 'function') return false;
    await this.gate.read(() => db.compactRange!(WHOLE_SPACE_START, WHOLE_SPACE_END));
    await this.gate.read(() => db.compactRange!(WHOLE_SPACE_START, WHOLE_SPACE_END));
    return true;
  }

  async liveDataBytes(): Promise<number | undefined> {
    return this.gate.read(async () => {
      if (typeof this.db.getProperty === 'function') {
        const estimate = Number(this.db.getProperty('rocksdb.estimate-live-data-size'));
        return Number.isSafeInteger(estimate) && estimate >= 0 ? estimate : undefined;
      }
      if (typeof this.db.approximateSize === 'function') return this.db.approximateSize(WHOLE_SPACE_START, WHOLE_SPACE_END);
      return undefined;
    });
  }

  /**
   * Gives the space of deleted data back: by CompactRange where the binding has it, else
   * by rebuilding the files by copy (engine-rebuild.ts), as etcd's defragment does. One at
   * a time: a call while one runs shares it.
   */
  defragment(): Promise<DefragmentReport> {
    this.defragmenting ??= this.defragmentNow().finally(() => (this.defragmenting = undefined));
    return this.defragmenting;
  }

  private async defragmentNow(): Promise<DefragmentReport> {
    if (this.closing) throw new Error('the engine is closing');
    if (await this.compactAll()) return { method: 'compact-range', writePauseMs: 0, copiedBytes: 0 };
    const files = this.options.files;
    if (files === undefined) throw new Error(`the ${this.name} engine was opened without its files: it cannot be rebuilt`);
    await checkRoomForCopy(files.location, (await this.liveDataBytes()) ?? 0);
    const onStep = this.options.onRebuildStep ?? (() => Promise.resolve());
    const held = performance.now();
    await this.gate.holdWrites();
    try {
      const copied = await writeReadyCopy(this.db, files.location, {
        openAt: (location) => files.open(location),
        stopping: () => this.closing,
        onStep,
      });
      await this.gate.holdAll();
      try {
        await this.swapHandle(files, onStep);
      } finally {
        this.gate.resumeAll();
      }
      return { method: 'copy', writePauseMs: Math.round(performance.now() - held), copiedBytes: copied.bytes };
    } finally {
      this.gate.resumeWrites();
    }
  }

  /** With no use of the handle under way: closes it, swaps the copy in, opens the new one. */
  private async swapHandle(files: EngineFiles, onStep: (step: RebuildStep) => Promise<void>): Promise<void> {
    await this.walSyncer?.close();
    this.walSyncer = undefined;
    await this.db.close();
    try {
      await swapInCopy(files.location, onStep);
    } finally {
      // Whatever the swap reached, one complete database is in place once recovered (the
      // same recovery a restart runs); a failure here leaves the engine closed, and the
      // member fails on its next write, as on any storage failure.
      await recoverEngineSwap(files.location);
      this.db = await files.open(files.location);
      this.generation++;
      const db = this.db;
      if (files.syncsWal) this.walSyncer = new WalSyncer(files.location, () => logGeneration(db));
    }
  }
}

function iteratorOptions(range: ScanRange): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(range)) if (value !== undefined) options[name] = value;
  if (range.limit === undefined) options['limit'] = -1;
  // RocksDB's iterator otherwise prefetches 1000 entries whatever their size: 1 GiB of
  // 1 MiB values (a snapshot export or import scanning the store). Bounded in bytes, a
  // scan holds about this much plus one entry.
  options['highWaterMarkBytes'] = SCAN_PREFETCH_BYTES;
  return options;
}

/** A scan's options, narrowed to what follows its last entry (in its direction) and to the entries it still owes. */
function resumedOptions(
  options: Record<string, unknown>,
  reverse: boolean,
  last: Buffer | undefined,
  yielded: number,
): Record<string, unknown> {
  if (last === undefined) return options;
  const resumed = { ...options };
  if (reverse) {
    delete resumed['lte'];
    resumed['lt'] = last;
  } else {
    delete resumed['gte'];
    resumed['gt'] = last;
  }
  const limit = options['limit'] as number;
  if (limit >= 0) resumed['limit'] = Math.max(0, limit - yielded);
  return resumed;
}
