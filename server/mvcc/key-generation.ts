import type { Revision } from './revision.js';

/** Up to this many numbers (half as many revisions), `earlier` is copied to grow rather than pushed to. */
const SHORT_HISTORY_NUMBERS = 32;

/**
 * One life of a key: from the put that created it to the delete that ended it. Its
 * revisions are the changes in order; when ended, the last one is the delete (tombstone).
 *
 * Laid out for memory, because the index holds one per key (issue 9): the latest revision
 * sits in two number fields and the earlier ones, if any, in one flat array of (main, sub)
 * pairs, instead of an array of revision objects: this object alone (80 bytes) where objects
 * per revision and arrays cost about 200. A key put once and not changed since has none: the
 * index holds its packed revision (key-index.ts).
 */
export class Generation {
  /** The put that started this life; kept even when compaction drops it from the revisions. */
  createdMain: number;
  createdSub: number;
  /** Changes ever made in this life, including compacted ones: the version of the latest. */
  changes = 1;
  ended = false;
  private latestMain: number;
  private latestSub: number;
  /** Revisions before the latest as flat (main, sub) pairs, oldest first; undefined when none. */
  private earlier: number[] | undefined = undefined;

  constructor(first: Revision) {
    this.createdMain = first.main;
    this.createdSub = first.sub;
    this.latestMain = first.main;
    this.latestSub = first.sub;
  }

  /** Revisions held (compaction may have dropped older ones). */
  get count(): number {
    return this.earlier === undefined ? 1 : this.earlier.length / 2 + 1;
  }

  /** Main revision of the i-th held change, 0 <= i < count. */
  mainAt(i: number): number {
    return i === this.count - 1 ? this.latestMain : this.earlier![2 * i]!;
  }

  /** The i-th held change, 0 <= i < count, as a fresh object. */
  revisionAt(i: number): Revision {
    if (i === this.count - 1) return { main: this.latestMain, sub: this.latestSub };
    return { main: this.earlier![2 * i]!, sub: this.earlier![2 * i + 1]! };
  }

  get created(): Revision {
    return { main: this.createdMain, sub: this.createdSub };
  }

  /** Appends a change after every held one. */
  push(rev: Revision): void {
    const earlier = this.earlier;
    // Short histories (most keys between compactions) get an array of exactly their size:
    // push reserves room for at least 16 more numbers each time it grows one. Past this, pushing
    // keeps a hot key's history from being copied on every change.
    if (earlier === undefined) this.earlier = [this.latestMain, this.latestSub];
    else if (earlier.length < SHORT_HISTORY_NUMBERS) this.earlier = earlier.concat(this.latestMain, this.latestSub);
    else earlier.push(this.latestMain, this.latestSub);
    this.latestMain = rev.main;
    this.latestSub = rev.sub;
    this.changes++;
  }

  /** Forgets the first n held changes, 0 < n < count. */
  dropFirst(n: number): void {
    if (n === this.count - 1) this.earlier = undefined;
    else this.earlier!.splice(0, 2 * n);
  }

  /** The version (puts so far in this life) of the change at position i. */
  versionAt(i: number): number {
    return this.changes - (this.count - 1 - i);
  }

  /** Index of the last held change with main < bound; -1 if none. */
  lastIndexBefore(bound: number): number {
    // Reads at the current revision, the common case, see the latest change.
    if (this.latestMain < bound) return this.count - 1;
    const earlier = this.earlier;
    if (earlier === undefined) return -1;
    let lo = 0;
    let hi = earlier.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (earlier[2 * mid]! < bound) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}
