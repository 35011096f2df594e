import type { Message } from './message.js';
import type { Entry, HardState, ReadState, Snapshot, SoftState } from './types.js';

/**
 * Everything the core wants done, batched. Obtain with RawNode.ready(), perform, then
 * acknowledge with RawNode.advance(ready). Only one Ready is outstanding at a time; step(),
 * tick() and propose() may be called while it is being processed (their output goes into
 * the next Ready).
 *
 * ORDERING CONTRACT (correctness, not style):
 * 1. `snapshot`, `entries` and `hardState` must be persisted with a SYNCED write (fsync)
 *    BEFORE any of `messages` is sent. Followers and candidates acknowledge appends and
 *    grant votes in these messages; a reply about data that is not durable can lose a
 *    committed entry or elect two leaders in one term after a crash.
 *    (A leader could send its MsgApp in parallel with its own write, because the core counts
 *    the leader itself in the commit quorum only after advance() reports the write done;
 *    the shipped driver keeps it simple and always persists first.)
 * 2. `snapshot` (if any) must be installed into the state machine, then `committedEntries`
 *    applied in order, only after step 1 (they may include entries from this same Ready).
 * 3. advance(ready) is called only after 1 and 2 completed; it marks the entries stable
 *    (which is when a leader counts itself towards the quorum) and the entries applied.
 * 4. `readStates` may be served once the state machine has applied up to their index.
 */
export interface Ready {
  /** Present when leader or role changed since the previous Ready. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed: persist it. */
  readonly hardState?: HardState;
  /** Unstable entries to append to stable storage (may overwrite a conflicting suffix). */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, to persist and install. */
  readonly snapshot?: Snapshot;
  /** Committed entries to apply to the state machine, in order. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send after the writes above are durable. */
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** False when the write may skip fsync (only commit changed, no entries, no vote/term). */
  readonly mustSync: boolean;
}
