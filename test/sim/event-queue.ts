/** One event on the virtual timeline. Ties are broken by insertion order (deterministic). */
interface Scheduled {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Binary min-heap of events ordered by (time, seq). */
export class EventQueue {
  private heap: Scheduled[] = [];
  private seq = 0;
  now = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(delay: number, run: () => void): void {
    if (!(delay >= 0)) throw new Error(`negative delay ${delay}`);
    this.push({ time: this.now + delay, seq: this.seq++, run });
  }

  /** Removes and returns the next event, advancing virtual time to it. */
  pop(): Scheduled | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    this.now = top.time;
    return top;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  private less(a: Scheduled, b: Scheduled): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(e: Scheduled): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
