import { invariant } from './errors.js';
import type { RaftStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { limitSize } from './types.js';
import { Unstable } from './unstable.js';

/** What a log lookup can yield besides a value: the index is compacted or beyond the end. */
export type LogGap = 'compacted' | 'unavailable';

/**
 * The node's log: storage (stable) + unstable (not yet persisted), plus commit and apply cursors.
 * Invariant: applied <= committed <= lastIndex.
 */
export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(
    readonly storage: RaftStorage,
    readonly maxCommittedSizePerReady: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // Everything up to the storage snapshot is committed and applied by definition.
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Highest index known to be durable: storage's last index, ignoring anything unstable. */
  stableLastIndex(): number {
    if (this.unstable.snapshot !== undefined) return 0;
    return Math.min(this.storage.lastIndex(), this.unstable.offset - 1);
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    invariant(typeof t === 'number', 'term of last index must be known');
    return t;
  }

  /** Term at index i, or why it is not known. */
  term(i: number): number | LogGap {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) return 'compacted';
    if (i > this.lastIndex()) return 'unavailable';
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i < this.storage.firstIndex() - 1) return 'compacted';
    if (i > this.storage.lastIndex()) return 'unavailable';
    return this.storage.term(i);
  }

  /** Term at i, with 0 standing in for an unknown term (never equal to a real term >= 1... except index 0). */
  zeroTermOn(i: number): number {
    const t = this.term(i);
    return typeof t === 'number' ? t : 0;
  }

  matchTerm(i: number, t: number): boolean {
    const lt = this.term(i);
    return typeof lt === 'number' && lt === t;
  }

  /**
   * Appends a leader's entries following (index, logTerm), if our log matches there.
   * Returns the last index of the new entries, or undefined on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(ci > this.committed, () => `entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      this.append(ents.slice(ci - (index + 1)));
    }
    // Only what we know matches the leader may be marked committed.
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    invariant(first.index - 1 >= this.committed, () => `append at ${first.index} would overwrite committed ${this.committed}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * Index of the first entry that is new or conflicts with our log (0 if all present).
   * Entries must be contiguous.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast back-off: the largest index <= `index` whose term is <= `term`, with that term.
   * A leader probing at (index, term) can jump straight there instead of one index per round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = index;
    for (; i > 0; i--) {
      const t = this.term(i);
      if (typeof t !== 'number') return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet applied, bounded by maxCommittedSizePerReady. */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return []; // the snapshot must be applied first
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= off) return [];
    return this.slice(off, this.committed + 1, this.maxCommittedSizePerReady);
  }

  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Entries from i onward, limited by maxBytes, or 'compacted' if i is no longer in the log. */
  entriesFrom(i: number, maxBytes: number): Entry[] | 'compacted' {
    if (i > this.lastIndex()) return [];
    if (i < this.firstIndex()) return 'compacted';
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** Every entry in the log (tests and simulator only). */
  allEntries(): Entry[] {
    return this.slice(this.firstIndex(), this.lastIndex() + 1, Infinity);
  }

  /** Raft §5.4.1: is a candidate's log (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lasti: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lasti >= this.lastIndex());
  }

  /** Commits up to maxIndex only if that entry is from `term` (the leader's current term). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.zeroTermOn(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  commitTo(tocommit: number): void {
    if (this.committed < tocommit) {
      invariant(this.lastIndex() >= tocommit, () => `commit ${tocommit} out of range [last ${this.lastIndex()}]`);
      this.committed = tocommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    invariant(
      this.committed >= i && i >= this.applied,
      () => `applied ${i} out of range [prev ${this.applied}, committed ${this.committed}]`,
    );
    this.applied = i;
  }

  stableTo(i: number, t: number): boolean {
    return this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  restore(s: Snapshot): void {
    this.committed = s.index;
    this.unstable.restore(s);
  }

  /** Entries [lo, hi), drawing from storage and/or unstable. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    invariant(lo <= hi, () => `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    invariant(lo >= fi, () => `slice lo ${lo} < firstIndex ${fi}`);
    invariant(hi <= this.lastIndex() + 1, () => `slice [${lo},${hi}) out of bound last ${this.lastIndex()}`);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const uoff = this.unstable.offset;
    if (lo < uoff) {
      const stored = this.storage.entries(lo, Math.min(hi, uoff), maxBytes);
      // Storage truncated by size: don't bridge into unstable.
      if (stored.length < Math.min(hi, uoff) - lo) return stored;
      ents = stored;
    }
    if (hi > uoff) {
      const us = this.unstable.slice(Math.max(lo, uoff), hi);
      ents = ents.length > 0 ? [...ents, ...us] : us;
    }
    return [...limitSize(ents, maxBytes)];
  }
}
