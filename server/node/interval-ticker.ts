import type { Ticker } from './ports/ticker.js';

/** Production ticker: one Raft tick every `intervalMs`, unref()ed so it never holds the process open. */
export class IntervalTicker implements Ticker {
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(private readonly intervalMs: number) {}

  start(onTick: () => void): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(onTick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
