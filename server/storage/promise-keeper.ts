import { publishDurablePromise, stageDurablePromise, syncDirectory, type DurablePromise } from './durable-promise.js';
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
 * write is acknowledged (to a client or to a peer) before the record covers it, without
 * putting a second fsync in series with every write:
 *
 * - Each synced save's record is staged (written and synced under a temporary name) while
 *   the engine writes the same save: the two fsyncs run side by side on the thread pool.
 * - Once both are durable the staged record is renamed over the current one, and only then
 *   does the save resolve. The record never claims more than the engine holds: a crash
 *   before the rename leaves the previous record in force.
 * - The rename is made durable by a directory sync that runs beside the next save's
 *   staging, or after `dirSyncDelayMs` if no save follows, and at close. Until then a
 *   power loss may bring back the previous record (claiming less, never more).
 */
export class PromiseKeeper {
  private recorded: PromisedState | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** A record was renamed in place but its directory not yet synced. */
  private renameUnsynced = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly identity: MemberIdentity,
    recorded: DurablePromise | undefined,
    private readonly dirSyncDelayMs: number,
    private readonly onError: (err: unknown) => void,
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
      const syncDir = this.renameUnsynced;
      this.renameUnsynced = false;
      await Promise.all([
        stageDurablePromise(this.dataDir, { ...this.identity, ...state }),
        durable,
        syncDir ? syncDirectory(this.dataDir) : undefined,
      ]);
      await publishDurablePromise(this.dataDir);
      this.recorded = state;
      this.renameUnsynced = true;
      this.scheduleDirectorySync();
    });
    // A failed write fails its caller (and with it the store); the chain goes on regardless.
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Makes the last record's rename durable; call once the log is quiet. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.syncDirectoryIfNeeded();
  }

  private scheduleDirectorySync(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.syncDirectoryIfNeeded().catch(this.onError);
    }, this.dirSyncDelayMs);
    this.timer.unref();
  }

  private syncDirectoryIfNeeded(): Promise<void> {
    const run = this.chain.then(async () => {
      if (!this.renameUnsynced) return;
      this.renameUnsynced = false;
      await syncDirectory(this.dataDir);
    });
    this.chain = run.catch(() => undefined);
    return run;
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
