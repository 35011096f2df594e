import type { DurablePromise, DurablePromiseFile } from './durable-promise.js';
import type { MemberIdentity } from './promise-check.js';

/** What the log holds after a synced save. */
export interface PromisedState {
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

/**
 * Keeps the durable-promise record (durable-promise.ts) level with the log, so that no
 * write is acknowledged (to a client or to a peer) before the record covers it:
 *
 * - Each synced save's record is written once the engine's write of that save is durable,
 *   never before: the record must not claim more than the engine holds, or an ordinary
 *   crash between the two would leave a member refused at its next start.
 * - The save resolves only once the record is durable too. Writing a record is one O_DSYNC
 *   overwrite of a slot of a preallocated file (one thread-pool round trip, no journal
 *   commit for a new file or a rename), so the second write in series is a small one.
 * - Records are written one at a time, in the order of the saves.
 */
export class PromiseKeeper {
  private recorded: PromisedState | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: DurablePromiseFile,
    private readonly identity: MemberIdentity,
    recorded: DurablePromise | undefined,
  ) {
    this.recorded = recorded;
  }

  /**
   * Records `state`, which the engine write `durable` is making durable. Returns undefined
   * when the record already says as much; otherwise the save counts only once the returned
   * promise resolves, and its failure fails the save.
   */
  record(state: PromisedState, durable: Promise<void>): Promise<void> | undefined {
    if (sameState(state, this.recorded)) return undefined;
    const run = this.chain.then(async () => {
      await durable;
      await this.file.write({ ...this.identity, ...state });
      this.recorded = state;
    });
    // A failed write fails its caller (and with it the store); the chain goes on regardless.
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Waits for the records asked for so far, then closes the file; call once the log is quiet. */
  async close(): Promise<void> {
    await this.chain;
    await this.file.close();
  }
}

export function sameState(a: PromisedState, b: PromisedState | undefined): boolean {
  return (
    b !== undefined &&
    a.term === b.term &&
    a.vote === b.vote &&
    a.commit === b.commit &&
    a.lastIndex === b.lastIndex &&
    a.lastTerm === b.lastTerm
  );
}
