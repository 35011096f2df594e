import type { StorageEngine } from '../storage/engine.js';

/** Keys one engine read may carry; a batch that reaches it is sent at once. */
export const MAX_COALESCED_KEYS = 1024;

interface Waiter {
  readonly offset: number;
  readonly count: number;
  readonly resolve: (values: (Buffer | undefined)[]) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Merges the version reads that requests make in one turn of the event loop into one engine
 * `getMany`.
 *
 * Why: every engine read is a round trip through libuv's thread pool (an async work item,
 * a thread woken, a completion callback), and under load a member serves dozens of
 * single-key gets per turn. Profiled at 64 clients, that per-read overhead was the largest
 * single cost of a get on the member's thread (docs/benchmarks.md, "Where the time goes");
 * one read of N keys costs about what one read of one key does.
 *
 * Only for keys whose value never changes once written (MVCC versions are keyed by their
 * revision): a read sent a moment later returns what it would have returned at once, or
 * nothing if compaction removed the version meanwhile, which the caller already handles
 * (a read racing compaction could see that anyway).
 */
export class CoalescedReads {
  private keys: Buffer[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;

  constructor(private readonly engine: Pick<StorageEngine, 'getMany'>) {}

  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.waiters.push({ offset: this.keys.length, count: keys.length, resolve, reject });
      for (const key of keys) this.keys.push(key);
      if (this.keys.length >= MAX_COALESCED_KEYS) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const keys = this.keys;
    const waiters = this.waiters;
    if (waiters.length === 0) return; // already sent when the batch filled up
    this.keys = [];
    this.waiters = [];
    this.engine.getMany(keys).then(
      (values) => {
        for (const w of waiters) w.resolve(values.slice(w.offset, w.offset + w.count));
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
  }
}
