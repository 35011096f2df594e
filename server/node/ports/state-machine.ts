/**
 * Port: the replicated state machine the driver applies committed entries to (the MVCC store
 * through server/apply/replicated-state-machine.ts in production). Defined here, by its
 * consumer, like hashicorp/raft's FSM.
 */
import type { Entry, Snapshot } from '../../raft/types.js';

/** The replicated state machine. Called sequentially; never concurrently with itself. */
export interface StateMachine {
  /** Applies committed entries in log order (no-op entries have empty data). */
  apply(entries: readonly Entry[]): void | PromiseLike<void>;
  /** Replaces the state with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void | PromiseLike<void>;
  /** Serializes the state as of the last applied entry (needed only if snapshotEvery is set). */
  snapshot?(): Uint8Array | PromiseLike<Uint8Array>;
}
