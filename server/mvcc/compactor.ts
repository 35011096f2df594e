import type { StorageEngine, BatchOp } from '../storage/engine.js';
import { revisionId } from './key-index.js';
import { encodeCounter, META_KEYS, MVCC_SPAN, parseRevisionKey, revisionLowerBound } from './schema.js';

const DELETE_CHUNK = 10_000;

/**
 * Deletes compacted history from storage in the background, in chunks, so that a large
 * compaction never stalls writes. Reads below the compacted revision are already refused,
 * so nothing can observe a half-finished deletion; a crash midway resumes it at start.
 */
export class Compactor {
  private tail: Promise<void> = Promise.resolve();
  private doneRevision = 0;
  private readonly waiters: { revision: number; resolve: () => void }[] = [];
  private stopping = false;

  constructor(private readonly engine: StorageEngine) {}

  schedule(revision: number, kept: Set<string>): void {
    this.tail = this.tail.then(async () => {
      if (this.stopping) return;
      // Not done if stopped midway: the next start resumes it (compactionDone is not written).
      if (!(await this.deleteBelow(revision, kept))) return;
      // Give the deleted history's space back to the disk now where the engine can do it in
      // place (LevelDB), so that a store over its space quota gets under it once compacted.
      // RocksDB cannot, and its defragment holds writes back: that one is the operator's.
      await this.engine.compactAll?.();
      this.doneRevision = revision;
      for (const waiter of this.waiters.filter((w) => w.revision <= revision)) waiter.resolve();
      this.waiters.splice(0, this.waiters.length, ...this.waiters.filter((w) => w.revision > revision));
    });
  }

  /**
   * Records a compaction that had already finished before this start (META compactionDone).
   * Without it, settled() for a compaction finished before a restart never resolved.
   */
  markDone(revision: number): void {
    if (revision > this.doneRevision) this.doneRevision = revision;
  }

  /** Resolves when no deletion is running or queued. */
  async idle(): Promise<void> {
    await this.tail;
  }

  settled(revision: number): Promise<void> {
    if (this.doneRevision >= revision) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ revision, resolve }));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.tail;
    for (const waiter of this.waiters) waiter.resolve();
  }

  /** Returns false when stopped before finishing. */
  private async deleteBelow(revision: number, kept: Set<string>): Promise<boolean> {
    let chunk: BatchOp[] = [];
    for await (const [key] of this.engine.scan({ gte: MVCC_SPAN.gte, lt: revisionLowerBound(revision) })) {
      if (this.stopping) return false;
      if (kept.has(revisionId(parseRevisionKey(key).rev))) continue;
      chunk.push({ type: 'del', key });
      if (chunk.length >= DELETE_CHUNK) {
        await this.engine.write(chunk, { sync: false });
        chunk = [];
      }
    }
    chunk.push({ type: 'put', key: META_KEYS.compactionDone, value: encodeCounter(revision) });
    await this.engine.write(chunk, { sync: false });
    return true;
  }
}
