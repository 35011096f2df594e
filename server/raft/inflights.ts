import { invariant } from './errors.js';

/**
 * Sliding window of MsgApp messages sent to one follower and not yet acknowledged, identified
 * by their last index. Bounds both the count and the bytes in flight (flow control).
 */
export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {
    invariant(maxCount > 0, 'max inflight messages must be > 0');
  }

  add(index: number, bytes: number): void {
    invariant(!this.full(), 'cannot add into a full inflights window');
    const last = this.indexes[this.indexes.length - 1];
    invariant(last === undefined || index > last, () => `inflight index ${index} not above ${last}`);
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every message whose last index is <= `to` (acknowledged). */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.indexes.length && this.indexes[n]! <= to) {
      this.bytes -= this.sizes[n]!;
      n++;
    }
    if (n > 0) {
      this.indexes.splice(0, n);
      this.sizes.splice(0, n);
    }
  }

  /** Frees the oldest message: lets a full window make progress when acks were lost. */
  freeFirstOne(): void {
    const first = this.indexes[0];
    if (first !== undefined) this.freeLE(first);
  }

  full(): boolean {
    return this.indexes.length >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  count(): number {
    return this.indexes.length;
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
  }
}
