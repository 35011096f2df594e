/**
 * Counts I/O the Raft driver started and has not seen finish. A stopped driver abandons
 * its loop but not the write it was awaiting; shutdown waits here before closing the engine
 * under that write.
 */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  track<T>(work: PromiseLike<T>): PromiseLike<T>;
  track<T>(work: T | PromiseLike<T>): T | PromiseLike<T>;
  track<T>(work: T | PromiseLike<T>): T | PromiseLike<T> {
    if (typeof (work as PromiseLike<T> | undefined)?.then !== 'function') return work;
    this.count++;
    const done = (): void => {
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
    (work as PromiseLike<T>).then(done, done);
    return work;
  }

  settled(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
