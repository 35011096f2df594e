/**
 * Port: what the node layer reports about Raft as it happens, for metrics (and nothing
 * else: no decision depends on it). Defined here, by its consumer; implemented outside
 * (server/observability/metrics.ts satisfies it structurally). Every method is optional to
 * call and must be cheap and must not throw.
 */

export interface RaftObserver {
  /** The core reported a leader different from the last one it reported (not "none"). */
  leaderChanged(): void;
  /** A proposal made through this member settled: applied (ok) or failed, after `seconds`. */
  proposalSettled(ok: boolean, seconds: number): void;
  /** A Raft log write of `entries` entries finished; `synced` when it was fsynced. */
  logWritten(entries: number, synced: boolean, seconds: number): void;
  /** The driver compacted the log: `entries` after --snapshot-count applied entries, `bytes` past the memory bound. */
  logCompacted(cause: LogCompactionCause): void;
}

export type LogCompactionCause = 'entries' | 'bytes';
