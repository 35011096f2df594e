import { invariant } from './errors.js';
import type { Entry, Snapshot } from './types.js';

/**
 * Entries (and possibly an incoming snapshot) the core holds but storage does not have yet.
 * `entries[i]` has index `offset + i`. When a snapshot is pending, offset = snapshot.index + 1.
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {}

  /** First index if a snapshot is pending (everything before it is replaced). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot !== undefined) return this.snapshot.index;
    return undefined;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.index === i) return this.snapshot.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]?.term;
  }

  /** Storage now has entries up to (i, t). Ignored if those entries were since replaced. */
  stableTo(i: number, t: number): boolean {
    const gt = this.maybeTerm(i);
    if (gt === undefined || i < this.offset) return false;
    if (gt !== t) return false; // the entry was overwritten by a newer leader meanwhile
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
    return true;
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    const after = first.index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything unstable: storage's suffix from `after` is superseded too.
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = [...this.slice(this.offset, after), ...ents];
    }
  }

  slice(lo: number, hi: number): Entry[] {
    invariant(lo <= hi, () => `unstable slice lo ${lo} > hi ${hi}`);
    const upper = this.offset + this.entries.length;
    invariant(lo >= this.offset && hi <= upper, () => `unstable slice [${lo},${hi}) out of [${this.offset},${upper}]`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
