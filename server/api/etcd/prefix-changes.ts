import { CairnError, ErrorCode } from '../../errors.js';
import type { RevisionEvents } from '../../mvcc/events.js';

interface Waiter {
  readonly prefix: Buffer;
  readonly wake: () => void;
}

/**
 * Wakes the server-side Lock, Campaign and Observe calls when keys under their prefix change.
 * They re-read the store when woken, so a wake-up only has to come after any change that
 * matters, never carry it: a waiter registers before it reads, and whatever commits after
 * that read wakes it. One commit listener serves them all (MvccStore has no unsubscribe).
 *
 * A snapshot installed from the leader replaces the store without commit events, so every
 * waiter is also woken every recheckMs: a backstop, not the path that orders anything.
 */
export class PrefixChanges {
  private readonly waiters = new Set<Waiter>();

  constructor(
    onCommit: (listener: (revisions: RevisionEvents[]) => void) => void,
    /** Calls waiting at once, shared by Lock, Election and Observe (--max-watch-streams). */
    private readonly maxWaiters: number,
    recheckMs = 2000,
  ) {
    onCommit((revisions) => this.published(revisions));
    setInterval(() => this.wakeAll(), recheckMs).unref();
  }

  /**
   * Resolves at the next commit that touches a key starting with prefix (or at the backstop),
   * or when signal aborts. Register before reading, then await.
   */
  next(prefix: Buffer, signal: AbortSignal): { changed: Promise<void> } {
    if (this.waiters.size >= this.maxWaiters) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_TOO_MANY_WATCH_STREAMS,
        `this member already has ${this.waiters.size} lock and election calls waiting (--max-watch-streams); try again later`,
      );
    }
    let waiter: Waiter | undefined;
    const changed = new Promise<void>((resolve) => {
      const done = (): void => {
        if (waiter !== undefined) this.waiters.delete(waiter);
        signal.removeEventListener('abort', done);
        resolve();
      };
      waiter = { prefix, wake: done };
      this.waiters.add(waiter);
      signal.addEventListener('abort', done);
    });
    return { changed };
  }

  private published(revisions: RevisionEvents[]): void {
    if (this.waiters.size === 0) return;
    for (const waiter of [...this.waiters]) {
      const touched = revisions.some((r) => r.events.some((e) => e.kv !== undefined && startsWith(e.kv.key, waiter.prefix)));
      if (touched) waiter.wake();
    }
  }

  private wakeAll(): void {
    for (const waiter of [...this.waiters]) waiter.wake();
  }
}

function startsWith(key: Buffer, prefix: Buffer): boolean {
  return key.length >= prefix.length && key.subarray(0, prefix.length).equals(prefix);
}
