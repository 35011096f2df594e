import type { RangeRequest } from '../../gen/ts/cairn/v1/kv.js';
import type { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { Event_EventType, type Event } from '../../gen/ts/cairn/v1/types.js';
import { compactedError, futureRevisionError } from '../errors.js';
import { invariant } from '../invariant.js';
import type { BatchOp, StorageEngine } from '../storage/engine.js';
import { CoalescedReads } from './coalesced-reads.js';
import { Compactor } from './compactor.js';
import type { RevisionEvents } from './events.js';
import { KeyIndex } from './key-index.js';
import { decodeLease, LeaseTable } from './lease-table.js';
import { MissingVersionError, readRange, type PageBytes, type RangeReadResult } from './range-reader.js';
import { EMPTY_STORE_REVISION, type Revision } from './revision.js';
import {
  decodeCounter,
  decodeCurrentRevision,
  encodeCounter,
  LEASE_SPAN,
  META_KEYS,
  MVCC_SPAN,
  revisionKey,
  revisionLowerBound,
} from './schema.js';
import { decodeStoredPut, decodeStoredVersion } from './stored-version.js';
import { WriteBatch, type BatchStore } from './write-batch.js';

export type CommitListener = (revisions: RevisionEvents[]) => void;

/**
 * The multi-version key-value store. Writes are applied in batches, one at a time, by a
 * single writer (the applier); each batch is made durable in one atomic engine write and
 * only then published: reads observe `currentRevision`, which never includes a change
 * that is not yet on disk, and watchers are told after the same point.
 */
export class MvccStore implements BatchStore {
  /** Replaced, not mutated, when a snapshot from the leader replaces the whole store. */
  index = new KeyIndex();
  /** The leases and their attached keys; replaced with the index. */
  leases = new LeaseTable();
  /** Last published (durable) revision: what reads observe. */
  currentRevision = EMPTY_STORE_REVISION;
  /** Reads and watches below this revision fail. */
  compactedRevision = 0;
  /** Index of the last applied command, stored in the same batch as its changes. */
  consistentIndex = 0;
  /** Watchers that want prev_kv on live events; while positive, writes load previous versions. */
  prevKvWatchers = 0;
  private readonly listeners: CommitListener[] = [];
  private openBatch: WriteBatch | undefined;
  private readonly compactor: Compactor;
  /** Version reads of concurrent requests, sent to the engine together. */
  private readonly versionReads: CoalescedReads;
  /** Set while replaceContents runs; reads wait for it. */
  private replacing: Promise<void> | undefined;
  /** Counts replacements, so a read can tell the store changed under it. */
  private generation = 0;

  private constructor(readonly engine: StorageEngine) {
    this.compactor = new Compactor(engine);
    this.versionReads = new CoalescedReads(engine);
  }

  /** Opens the store and rebuilds the key index from every stored version. */
  static async open(engine: StorageEngine): Promise<MvccStore> {
    const store = new MvccStore(engine);
    await store.rebuild();
    return store;
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  /** Reads a range at req.revision (0: the current revision); `pageBytes` bounds it in bytes too (more: true past it). */
  range(req: RangeRequest, pageBytes?: PageBytes): Promise<RangeReadResult & { revision: number }> {
    return this.stableRead(() => this.rangeOnce(req, pageBytes));
  }

  private async rangeOnce(req: RangeRequest, pageBytes: PageBytes | undefined): Promise<RangeReadResult & { revision: number }> {
    const current = this.currentRevision;
    const atRev = req.revision > 0 ? req.revision : current;
    this.checkReadable(atRev, current);
    try {
      const result = await readRange(this.index, atRev, req, (revs) => this.loadVersions(revs), pageBytes);
      // A compaction that landed during the read may have dropped what it returned.
      if (atRev < this.compactedRevision) throw compactedError(atRev, this.compactedRevision);
      return { kvs: result.kvs, more: result.more, count: result.count, revision: current };
    } catch (err) {
      if (err instanceof MissingVersionError && atRev < this.compactedRevision) throw compactedError(atRev, this.compactedRevision);
      throw err;
    }
  }

  checkReadable(atRev: number, current = this.currentRevision): void {
    if (atRev > current) throw futureRevisionError(atRev, current);
    if (atRev < this.compactedRevision) throw compactedError(atRev, this.compactedRevision);
  }

  /** Stored versions by revision (puts only). */
  async loadVersions(revisions: Revision[]): Promise<(KeyValue | undefined)[]> {
    const keys = revisions.map((rev) => revisionKey(rev, false));
    const values = await this.versionReads.getMany(keys);
    return values.map((value, i) => (value === undefined ? undefined : decodeStoredPut(keys[i]!, value)));
  }

  /** Starts the next batch of writes; only one may be open. */
  beginBatch(): WriteBatch {
    invariant(this.openBatch === undefined, 'a write batch is already open');
    this.openBatch = new WriteBatch(this);
    return this.openBatch;
  }

  /** Abandons an open batch after a failure; only an unrecoverable one, since its index changes stay. */
  discardBatch(batch: WriteBatch): void {
    if (batch === this.openBatch) this.openBatch = undefined;
  }

  /**
   * Makes the batch durable (synced when asked) and then publishes it: the new revision
   * becomes readable and listeners get its events. A failed write means the disk can't be
   * trusted: the caller must stop the node.
   */
  async commit(batch: WriteBatch, consistentIndex: number, options: { sync: boolean }): Promise<void> {
    invariant(batch === this.openBatch, 'committing a batch that is not open');
    const ops: BatchOp[] = [
      ...batch.ops,
      { type: 'put', key: META_KEYS.consistentIndex, value: encodeCounter(consistentIndex) },
      { type: 'put', key: META_KEYS.currentRevision, value: encodeCounter(batch.revision) },
    ];
    try {
      await this.engine.write(ops, options);
    } finally {
      this.openBatch = undefined;
    }
    this.currentRevision = batch.revision;
    this.consistentIndex = consistentIndex;
    if (batch.compaction !== undefined) this.compactor.schedule(batch.compaction.revision, batch.compaction.kept);
    if (batch.revisions.length > 0) for (const listener of this.listeners) listener(batch.revisions);
  }

  /** Marks history below revision as gone; called by a batch while it is applied. */
  markCompacted(revision: number): void {
    this.compactedRevision = revision;
  }

  /** Resolves when physical deletion of compacted history up to revision has finished. */
  compactionSettled(revision: number): Promise<void> {
    return this.compactor.settled(revision);
  }

  /**
   * Stored changes with revisions in [from, to], grouped by revision, stopping after the
   * revision that brings the count to maxEvents. Used by watchers catching up.
   */
  readEvents(from: number, to: number, maxEvents: number, withPrevKv: boolean): Promise<{ revisions: RevisionEvents[]; through: number }> {
    return this.stableRead(() => this.readEventsOnce(from, to, maxEvents, withPrevKv));
  }

  private async readEventsOnce(
    from: number,
    to: number,
    maxEvents: number,
    withPrevKv: boolean,
  ): Promise<{ revisions: RevisionEvents[]; through: number }> {
    const revisions: RevisionEvents[] = [];
    let events = 0;
    let current: { revision: number; events: Event[] } | undefined;
    for await (const [key, value] of this.engine.scan({ gte: revisionLowerBound(from), lt: revisionLowerBound(to + 1) })) {
      const { rev, tombstone, kv } = decodeStoredVersion(key, value);
      if (current === undefined || current.revision !== rev.main) {
        if (current !== undefined && events >= maxEvents) return { revisions, through: current.revision };
        current = { revision: rev.main, events: [] };
        revisions.push({ ...current, prevKvLoaded: withPrevKv });
        current = revisions[revisions.length - 1]!;
      }
      const type = tombstone ? Event_EventType.EVENT_TYPE_DELETE : Event_EventType.EVENT_TYPE_PUT;
      current.events.push({ type, kv, prevKv: withPrevKv ? await this.previousVersion(kv.key, rev) : undefined });
      events++;
    }
    return { revisions, through: to };
  }

  private async previousVersion(key: Buffer, rev: Revision): Promise<KeyValue | undefined> {
    const prev = this.index.previous(key.toString('latin1'), rev);
    if (prev === undefined) return undefined;
    const [kv] = await this.loadVersions([prev.modified]);
    return kv;
  }

  async close(): Promise<void> {
    await this.compactor.stop();
  }

  /**
   * Replaces the whole store (a snapshot installed from the leader): `install` rewrites the
   * engine's contents, then the index is rebuilt aside and swapped in at once. Reads wait
   * meanwhile, and reads that began before retry on the new contents, so none observes a
   * half-replaced store. No write batch may be open (the Raft loop applies nothing meanwhile).
   */
  async replaceContents(install: () => Promise<void>): Promise<void> {
    invariant(this.openBatch === undefined, 'replacing the store with a write batch open');
    let release = (): void => undefined;
    this.replacing = new Promise<void>((resolve) => (release = resolve));
    this.generation++;
    try {
      // A background compaction must not delete from the new contents with the old kept set.
      await this.compactor.idle();
      await install();
      this.adopt(await this.loadState());
    } finally {
      this.replacing = undefined;
      release();
    }
  }

  /** Runs a read, again if the store was replaced under it (see replaceContents). */
  private async stableRead<T>(read: () => Promise<T>): Promise<T> {
    for (;;) {
      while (this.replacing !== undefined) await this.replacing;
      const generation = this.generation;
      try {
        const result = await read();
        if (generation === this.generation && this.replacing === undefined) return result;
      } catch (err) {
        if (generation === this.generation && this.replacing === undefined) throw err;
      }
    }
  }

  private async rebuild(): Promise<void> {
    this.adopt(await this.loadState());
  }

  /** Reads meta and rebuilds a key index from every stored version, touching no field. */
  private async loadState(): Promise<LoadedState> {
    const [current, consistent, compacted, done] = await this.engine.getMany([
      META_KEYS.currentRevision,
      META_KEYS.consistentIndex,
      META_KEYS.compactedRevision,
      META_KEYS.compactionDone,
    ]);
    const state: LoadedState = {
      index: new KeyIndex(),
      leases: new LeaseTable(),
      currentRevision: decodeCurrentRevision(current),
      consistentIndex: decodeCounter(consistent, 'applied index'),
      compactedRevision: decodeCounter(compacted, 'compacted revision'),
      compactionDone: decodeCounter(done, 'finished compaction'),
    };
    for await (const [, value] of this.engine.scan(LEASE_SPAN)) state.leases.add(decodeLease(value));
    let highest = 0;
    /** The lease of each live attached key, as of the versions read so far. */
    const attached = new Map<string, number>();
    for await (const [key, value] of this.engine.scan(MVCC_SPAN)) {
      const { rev, tombstone, kv } = decodeStoredVersion(key, value);
      const name = kv.key.toString('latin1');
      if (tombstone) state.index.restoreTombstone(name, rev);
      else state.index.restorePut(name, rev, kv.createRevision, kv.version);
      if (!tombstone && kv.lease !== 0) attached.set(name, kv.lease);
      else attached.delete(name);
      highest = rev.main;
    }
    // A lease's keys are deleted in the same batch that removes it, so each is still there.
    for (const [name, lease] of attached) state.leases.attach(name, lease);
    invariant(
      highest <= state.currentRevision,
      () => `stored revision ${highest} is beyond the recorded current revision ${state.currentRevision}`,
    );
    return state;
  }

  /** Makes a loaded state the store's, all in one synchronous step. */
  private adopt(state: LoadedState): void {
    this.index = state.index;
    this.leases = state.leases;
    this.currentRevision = state.currentRevision;
    this.consistentIndex = state.consistentIndex;
    this.compactedRevision = state.compactedRevision;
    // So that compactionSettled() resolves for compactions finished before this start.
    this.compactor.markDone(state.compactionDone);
    if (state.compactedRevision > 0) {
      const kept = state.index.compact(state.compactedRevision);
      // A compaction interrupted by a crash is finished now; deleting again is harmless.
      if (state.compactionDone < state.compactedRevision) this.compactor.schedule(state.compactedRevision, kept);
    }
  }
}

interface LoadedState {
  index: KeyIndex;
  leases: LeaseTable;
  currentRevision: number;
  consistentIndex: number;
  compactedRevision: number;
  compactionDone: number;
}
