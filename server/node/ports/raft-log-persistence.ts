/**
 * Port: the durable Raft state the driver needs (RocksDB in production through
 * server/storage/raft-log-store.ts, a simulated disk in the simulator). Defined here, by its
 * consumer, and implemented by the layers above; see server/README.md.
 */
import type { ConfState, Entry, HardState, Snapshot } from '../../raft/types.js';

/** One Ready's worth of durable state. */
export interface PersistBatch {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  /** False when only the commit index changed; an implementation may skip the fsync then. */
  readonly mustSync: boolean;
}

/** Durable Raft state (RocksDB in production, a simulated disk in the simulator). */
export interface RaftLogPersistence {
  /**
   * Writes, atomically and in this order: the snapshot (replacing the whole log), the entries
   * (replacing any conflicting suffix), the hard state. Resolves only once the write is synced
   * AND the RaftStorage the core reads reflects it. Rejects on I/O failure: the driver then
   * stops the node (never keep running on a disk you can't trust).
   */
  save(batch: PersistBatch): PromiseLike<void>;
  /**
   * Records a state-machine snapshot at `snapshot.index` (already applied, hence durable in
   * the log) and discards log entries up to `compactIndex` (<= snapshot.index).
   */
  compact(snapshot: { index: number; confState: ConfState; data: Uint8Array }, compactIndex: number): PromiseLike<void>;
}
