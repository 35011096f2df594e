import type { RevisionEvents } from './events.js';

/** Bytes counted per event on top of its key and values: the objects that hold it. */
const EVENT_OVERHEAD_BYTES = 128;

/**
 * What holding a revision costs: its keys and values twice (decoded, and encoded by the
 * watch streams, which cache the encoding on the revision), plus the objects.
 */
function revisionBytes(rev: RevisionEvents): number {
  let n = 0;
  for (const e of rev.events) {
    n += EVENT_OVERHEAD_BYTES + 2 * (e.kv!.key.length + e.kv!.value.length);
    if (e.prevKv !== undefined) n += EVENT_OVERHEAD_BYTES + 2 * (e.prevKv.key.length + e.prevKv.value.length);
  }
  return n;
}

/**
 * The most recently published revisions, oldest first, within a byte budget: a cache of
 * history in front of storage. Watchers a little behind catch up from here, sharing these
 * objects (and their cached encodings) with the live ones instead of each storage read
 * making copies of the same revisions.
 */
export class RecentRevisions {
  /** Held revisions from `head` on; evicted slots are cleared so that nothing keeps them alive. */
  private revisions: (RevisionEvents | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  private readonly sizes: number[] = [];

  constructor(private readonly maxBytes: number) {}

  /** Appends published revisions (in order, after every held one) and evicts the oldest over budget. */
  append(revisions: readonly RevisionEvents[]): void {
    for (const rev of revisions) {
      const size = revisionBytes(rev);
      this.revisions.push(rev);
      this.sizes.push(size);
      this.bytes += size;
    }
    while (this.bytes > this.maxBytes && this.head < this.revisions.length) {
      this.bytes -= this.sizes[this.head]!;
      this.revisions[this.head++] = undefined;
    }
    if (this.head >= 1024 && this.head * 2 >= this.revisions.length) {
      this.revisions = this.revisions.slice(this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Forgets everything (the store was replaced). */
  clear(): void {
    this.revisions = [];
    this.sizes.length = 0;
    this.head = 0;
    this.bytes = 0;
  }

  /**
   * The held revisions in [from, to], stopping after the one that brings the count of events
   * to maxEvents, as MvccStore.readEvents would return them; undefined when revisions from
   * `from` on are not all held (or lack previous versions a reader needs).
   */
  read(from: number, to: number, maxEvents: number, withPrevKv: boolean): { revisions: RevisionEvents[]; through: number } | undefined {
    const start = this.indexOf(from);
    if (start === undefined) return undefined;
    const out: RevisionEvents[] = [];
    let events = 0;
    for (let i = start; i < this.revisions.length; i++) {
      const rev = this.revisions[i]!;
      if (rev.revision > to) break;
      if (withPrevKv && !rev.prevKvLoaded) return out.length > 0 ? { revisions: out, through: out[out.length - 1]!.revision } : undefined;
      out.push(rev);
      events += rev.events.length;
      if (events >= maxEvents) return { revisions: out, through: rev.revision };
    }
    return { revisions: out, through: to };
  }

  /** Index of the first held revision >= from, if the revision before it is known to be older than from. */
  private indexOf(from: number): number | undefined {
    if (this.head >= this.revisions.length) return undefined;
    // Holding the revision just before `from` (or `from` itself first) proves none in between is missing.
    if (this.revisions[this.head]!.revision > from) return undefined;
    let lo = this.head;
    let hi = this.revisions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.revisions[mid]!.revision < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
