import { writeDurablePromise, type DurablePromise } from './durable-promise.js';
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
 * Keeps the durable-promise record (durable-promise.ts) close behind the log, without a
 * second fsync on every write:
 *
 * - A change of term or vote, and a log that went back (a conflicting suffix replaced, a
 *   snapshot replacing a longer log), are written before save() resolves, so before any
 *   vote or acknowledgement leaves the member. They are rare (elections, leader changes).
 * - Growth (new entries, a higher commit) is written in the background, coalesced, at most
 *   once per interval: the record lags the log by at most one interval of writes, and costs
 *   at most one extra fsync per interval whatever the write rate. A tail lost within that
 *   last interval is not detected by the record (the peers still hold it: a write is
 *   acknowledged only once a majority has it).
 * - close() writes the latest state, so a member stopped cleanly has an exact record.
 *
 * Only states observed after a synced save are recorded, so the record never claims more
 * than the engine had durably.
 */
export class PromiseKeeper {
  private latest: PromisedState | undefined;
  private recorded: PromisedState | undefined;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly identity: MemberIdentity,
    recorded: DurablePromise | undefined,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.recorded = recorded;
  }

  /** Called after each synced save; the returned promise must be awaited before the save counts. */
  observe(state: PromisedState): Promise<void> | undefined {
    this.latest = state;
    const r = this.recorded;
    const urgent =
      r === undefined ||
      state.term !== r.term ||
      state.vote !== r.vote ||
      state.lastIndex < r.lastIndex ||
      (state.lastIndex === r.lastIndex && state.lastTerm !== r.lastTerm);
    if (urgent) return this.writeLatest();
    if (state.commit > r.commit || state.lastIndex > r.lastIndex) this.schedule();
    return undefined;
  }

  /** Writes the latest state if the record is behind it; call once the log is quiet. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writeLatest();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writeLatest().catch(this.onError);
    }, this.intervalMs);
    this.timer.unref();
  }

  private writeLatest(): Promise<void> {
    const run = this.chain.then(async () => {
      const state = this.latest;
      if (state === undefined || sameState(state, this.recorded)) return;
      await writeDurablePromise(this.dataDir, { ...this.identity, ...state });
      this.recorded = state;
    });
    // A failed write fails its caller; the chain goes on for the next attempt.
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function sameState(a: PromisedState, b: PromisedState | undefined): boolean {
  return (
    b !== undefined &&
    a.term === b.term &&
    a.vote === b.vote &&
    a.commit === b.commit &&
    a.lastIndex === b.lastIndex &&
    a.lastTerm === b.lastTerm
  );
}
