import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * Read access to the stable (persisted) log, in the style of etcd's `Storage`.
 *
 * The log held by storage is conceptually a snapshot at (firstIndex-1) followed by entries
 * [firstIndex, lastIndex]. The core only calls `term(i)` for i in [firstIndex-1, lastIndex] and
 * `entries(lo, hi)` for firstIndex <= lo <= hi <= lastIndex+1; anything else is a caller bug
 * (MemoryRaftStorage answers it with an InvariantError).
 * Storage errors (I/O) are thrown and are fatal for the node.
 */
export interface RaftStorage {
  /** Hard state and membership at startup. */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries [lo, hi), truncated to maxBytes but always at least one entry if lo < hi. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot (index 0 if none was ever taken). */
  snapshot(): Snapshot;
}
