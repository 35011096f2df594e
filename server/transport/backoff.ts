/**
 * Capped exponential backoff with "equal jitter": the n-th delay is drawn from
 * [base/2, base] where base = min(max, initial * 2^n). The jitter keeps members that lost a
 * peer at the same moment from reconnecting in lockstep; the floor keeps retries from
 * collapsing to zero.
 */
export interface PeerBackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: PeerBackoffOptions = { initialMs: 100, maxMs: 2_000 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: PeerBackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next retry; each call doubles the base up to the cap. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.attempt);
    if (base < this.opts.maxMs) this.attempt++;
    return base / 2 + (this.random() * base) / 2;
  }

  /** Back to the initial delay, once a connection has proved healthy. */
  reset(): void {
    this.attempt = 0;
  }
}
