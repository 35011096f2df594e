import type { PersistBatch, RaftLogPersistence } from '../node/ports/raft-log-persistence.js';
import { invariant } from '../invariant.js';
import type { MemoryRaftStorage } from '../raft/memory-storage.js';
import type { RaftStorage } from '../raft/storage.js';
import type { ConfState, Entry, NodeId } from '../raft/types.js';
import type { BatchOp, StorageEngine } from './engine.js';
import { encodeEntry, encodeHardState, encodeLogStart, encodeSnapshotMeta } from './raft-log-codec.js';
import { buildMirror, loadRaftLog } from './raft-log-loader.js';
import { sameState, type PromisedState } from './promise-keeper.js';
import { entryKey, HARD_STATE_KEY, LOG_START_KEY, RAFT_LOG_SPAN, SNAPSHOT_META_KEY } from './reserved-keys.js';

export interface RaftLogStoreOptions {
  /** Voters of a brand-new cluster; a stored snapshot's membership takes precedence. */
  readonly voters: readonly NodeId[];
  /** Learners of that first configuration: a joining member is one of them. */
  readonly learners?: readonly NodeId[];
  /** Entries deleted per write when compacting (default 1024). */
  readonly compactChunk?: number;
  /**
   * Told, as each synced save starts, what the log will durably hold once `durable` (the
   * engine's write) resolves (promise-keeper.ts): it may record that alongside the write.
   * A promise it returns is awaited before the save resolves, and its failure fails the store.
   */
  readonly onSyncedSave?: (state: PromisedState, durable: Promise<void>) => Promise<void> | undefined;
}

const EMPTY_DATA = new Uint8Array(0);

/**
 * The entries with data that owns exactly its bytes, copying (once) the data that is a view
 * into a larger buffer. The mirror holds an entry until compaction, and a follower's entries
 * arrive as views into the peer message that carried them (a batch of messages, entries the
 * log already has included): one held entry would keep that whole message alive while the
 * log's bound (--max-raft-log-memory-bytes, issue 9) counts only the entry's bytes. A leader's
 * own proposals own their bytes already and keep their identity, by which the proposal codec
 * finds them at apply.
 */
function ownBytes(entries: readonly Entry[]): readonly Entry[] {
  if (!entries.some((e) => isView(e.data))) return entries;
  return entries.map((e) => (isView(e.data) ? { ...e, data: new Uint8Array(e.data) } : e));
}

const isView = (data: Uint8Array): boolean => data.byteLength !== data.buffer.byteLength;

/**
 * The durable Raft log on the node's database ('r', 'h', 's' keyspaces), with an in-memory
 * mirror that serves the core's synchronous reads.
 *
 * Disk first, mirror second: every change is written (and synced when asked) before the
 * mirror shows it, so the core never reads state a crash could take back. Operations run
 * one at a time in call order. An I/O failure poisons the store: that call and every later
 * one reject, since the disk can no longer be trusted and disk and mirror may now differ.
 *
 * The snapshot's data is not kept here: Cairn's state machine is the MVCC keyspace itself
 * (mvcc/snapshot.ts streams it), so `storage.snapshot()` carries metadata and empty data.
 */
export class RaftLogStore implements RaftLogPersistence {
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private readonly compactChunk: number;
  private readonly onSyncedSave: RaftLogStoreOptions['onSyncedSave'];

  private constructor(
    private readonly engine: StorageEngine,
    private readonly mirror: MemoryRaftStorage,
    options: RaftLogStoreOptions,
    /** Whether the engine held any Raft state when opened. */
    readonly hadData: boolean,
  ) {
    this.compactChunk = options.compactChunk ?? 1024;
    this.onSyncedSave = options.onSyncedSave;
  }

  /** Loads and validates the stored log; refuses a corrupted or inconsistent one. */
  static async open(engine: StorageEngine, options: RaftLogStoreOptions): Promise<RaftLogStore> {
    const log = await loadRaftLog(engine);
    const hadData = log.hardState.term > 0 || log.entries.length > 0 || log.snapshot !== undefined || log.start.index > 0;
    return new RaftLogStore(engine, buildMirror(log, options.voters, options.learners), options, hadData);
  }

  /** What the core reads. Reflects only writes that completed. */
  get storage(): RaftStorage {
    return this.mirror;
  }

  /** The size of the in-memory log (the mirror), which the driver bounds in bytes. */
  get memory(): Pick<MemoryRaftStorage, 'heldBytes' | 'peakHeldBytes' | 'compactIndexKeeping'> {
    return this.mirror;
  }

  /** The I/O error that stopped this store, if any. */
  get failed(): unknown {
    return this.failure?.error;
  }

  save(batch: PersistBatch): Promise<void> {
    return this.serialize(async () => {
      const { ops, entries } = this.planSave(batch);
      const written = this.engine.write(ops, { sync: batch.mustSync });
      // Only a synced write makes the state durable (and with it every unsynced one before
      // it): the record must never claim a commit index a power loss could take back. It is
      // written beside the engine's write, and the save resolves only when both are done,
      // so nothing leaves this member (an append ack, a client's answer) that it does not cover.
      const planned = batch.mustSync ? this.plannedState(batch, entries) : undefined;
      const recording = planned !== undefined ? this.onSyncedSave?.(planned, written) : undefined;
      await this.guard(recording === undefined ? written : Promise.all([written, recording]).then(() => undefined));
      this.updateMirror(() => {
        const snap = batch.snapshot;
        if (snap !== undefined)
          this.mirror.applySnapshot({ index: snap.index, term: snap.term, confState: snap.confState, data: EMPTY_DATA });
        if (entries.length > 0) this.mirror.append(ownBytes(entries));
        if (batch.hardState !== undefined) this.mirror.setHardState(batch.hardState);
      });
      if (planned !== undefined) {
        const held = this.durableState();
        invariant(sameState(planned, held), () => `recorded ${JSON.stringify(planned)}, but the log holds ${JSON.stringify(held)}`);
      }
    });
  }

  /** What the log will hold once `batch` (planned into `entries`) is written. */
  private plannedState(batch: PersistBatch, entries: readonly Entry[]): PromisedState {
    const m = this.mirror;
    const { term, vote, commit } = batch.hardState ?? m.initialState().hardState;
    const tail = entries[entries.length - 1];
    // New entries end the log (a conflicting suffix beyond them is deleted); else a snapshot
    // replaces it; else it keeps its end.
    if (tail !== undefined) return { term, vote, commit, lastIndex: tail.index, lastTerm: tail.term };
    if (batch.snapshot !== undefined) return { term, vote, commit, lastIndex: batch.snapshot.index, lastTerm: batch.snapshot.term };
    const lastIndex = m.lastIndex();
    return { term, vote, commit, lastIndex, lastTerm: m.term(lastIndex) };
  }

  /** What the log holds now (after a completed write). */
  durableState(): PromisedState {
    const m = this.mirror;
    const { hardState } = m.initialState();
    const lastIndex = m.lastIndex();
    return { term: hardState.term, vote: hardState.vote, commit: hardState.commit, lastIndex, lastTerm: m.term(lastIndex) };
  }

  compact(snapshot: { index: number; confState: ConfState; data: Uint8Array }, compactIndex: number): Promise<void> {
    return this.serialize(async () => {
      const m = this.mirror;
      invariant(compactIndex <= snapshot.index, () => `compact index ${compactIndex} beyond snapshot ${snapshot.index}`);
      invariant(snapshot.index <= m.lastIndex(), () => `snapshot ${snapshot.index} beyond last index ${m.lastIndex()}`);
      // A snapshot not newer than the stored one (e.g. the driver re-snapshotting right after a
      // restart) keeps the stored metadata; the log is still compacted as asked.
      const newSnapshot = snapshot.index > m.snapshot().index;
      const offset = m.firstIndex() - 1;
      const advance = compactIndex > offset;
      if (!newSnapshot && !advance) return;
      const meta = newSnapshot ? { index: snapshot.index, term: m.term(snapshot.index), confState: snapshot.confState } : m.snapshot();
      const start = advance ? { index: compactIndex, term: m.term(compactIndex) } : { index: offset, term: m.term(offset) };
      // Metadata first (synced), entries after: a crash in between leaves entries below the
      // log start, which open skips and the next compaction removes. The reverse order could
      // leave a gap.
      await this.write(
        [
          { type: 'put', key: SNAPSHOT_META_KEY, value: encodeSnapshotMeta(meta) },
          { type: 'put', key: LOG_START_KEY, value: encodeLogStart(start) },
        ],
        true,
      );
      this.updateMirror(() => {
        if (newSnapshot) m.createSnapshot(snapshot.index, snapshot.confState, EMPTY_DATA);
        if (advance) m.compact(compactIndex);
      });
      await this.deleteEntriesThrough(start.index);
    });
  }

  /** Validates the batch against the current log and turns it into one atomic write. */
  private planSave(batch: PersistBatch): { ops: BatchOp[]; entries: readonly Entry[] } {
    const m = this.mirror;
    const ops: BatchOp[] = [];
    let first = m.firstIndex();
    let last = m.lastIndex();
    let startTerm = (): number => m.term(first - 1);
    const snap = batch.snapshot;
    if (snap !== undefined) {
      invariant(snap.index > m.snapshot().index, () => `snapshot ${snap.index} is not newer than ${m.snapshot().index}`);
      // The snapshot replaces the whole log, including entries beyond it (one atomic write;
      // the log is kept short by compaction).
      for (let i = first; i <= last; i++) ops.push({ type: 'del', key: entryKey(i) });
      ops.push({ type: 'put', key: SNAPSHOT_META_KEY, value: encodeSnapshotMeta(snap) });
      ops.push({ type: 'put', key: LOG_START_KEY, value: encodeLogStart(snap) });
      first = snap.index + 1;
      last = snap.index;
      startTerm = () => snap.term;
    }
    // Entries already covered by the snapshot are not written again.
    const entries = batch.entries.filter((e) => e.index >= first);
    const head = entries[0];
    if (head !== undefined) {
      invariant(head.index <= last + 1, () => `raft log gap: appending ${head.index} after last ${last}`);
      let prevTerm = head.index === first ? startTerm() : m.term(head.index - 1);
      entries.forEach((e, i) => {
        invariant(e.index === head.index + i, () => `non-contiguous entries: ${e.index} after ${head.index + i - 1}`);
        invariant(e.term >= prevTerm, () => `entry ${e.index} term ${e.term} below previous term ${prevTerm}`);
        prevTerm = e.term;
        ops.push({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) });
      });
      // Replacing a conflicting suffix: stored entries beyond the new tail must go too.
      const newLast = head.index + entries.length - 1;
      for (let i = newLast + 1; i <= last; i++) ops.push({ type: 'del', key: entryKey(i) });
    }
    if (batch.hardState !== undefined) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(batch.hardState) });
    return { ops, entries };
  }

  /** Deletes stored entries at or below `through` in bounded writes, lowest first. */
  private async deleteEntriesThrough(through: number): Promise<void> {
    const upTo = entryKey(through);
    for (;;) {
      const ops: BatchOp[] = [];
      for await (const [key] of this.engine.scan({ gte: RAFT_LOG_SPAN.gte, lte: upTo, limit: this.compactChunk })) {
        ops.push({ type: 'del', key });
      }
      if (ops.length === 0) return;
      await this.write(ops, false);
    }
  }

  private async write(ops: BatchOp[], sync: boolean): Promise<void> {
    await this.guard(this.engine.write(ops, { sync }));
  }

  /** An I/O failure poisons the store. */
  private async guard(io: Promise<void>): Promise<void> {
    try {
      await io;
    } catch (error) {
      this.failure ??= { error };
      throw error;
    }
  }

  /** The disk already changed: a mirror that cannot follow is a broken store, not a retry. */
  private updateMirror(f: () => void): void {
    try {
      f();
    } catch (error) {
      this.failure ??= { error };
      throw error;
    }
  }

  private serialize(op: () => Promise<void>): Promise<void> {
    const run = this.tail.then(() => {
      if (this.failure !== undefined) throw this.failure.error;
      return op();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
