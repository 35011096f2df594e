/**
 * Port: the size of the Raft log held in memory, which the driver bounds in bytes
 * (--max-raft-log-memory-bytes) as well as in entries (--snapshot-count). Defined here, by
 * its consumer; the core's MemoryRaftStorage (the mirror RaftLogStore keeps, the simulator's
 * disk) satisfies it structurally.
 */
export interface LogMemory {
  /** Bytes of the entries held (Entry data plus a fixed overhead each, as entrySize counts). */
  heldBytes(): number;
  /**
   * The lowest index `c` (not below the log's start) such that the entries in (c, upTo]
   * hold at most `maxBytes`: compacting through `c` keeps the newest entries that fit.
   */
  compactIndexKeeping(upTo: number, maxBytes: number): number;
}
