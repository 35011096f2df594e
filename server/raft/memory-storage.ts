import { invariant } from './errors.js';
import type { RaftStorage } from './storage.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { EMPTY_HARD_STATE, EntryType, entrySize, limitSize } from './types.js';

/**
 * In-memory stable log, used by tests and the simulator (which models durability separately).
 * `ents[0]` is a dummy entry holding the index/term of the last compacted entry.
 */
export class MemoryRaftStorage implements RaftStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  private ents: Entry[];
  /** entrySize() summed over the entries held (not the dummy): the log's share of memory. */
  private bytes = 0;
  /** The most `bytes` ever reached, for the bound's metric (a scrape may miss a short peak). */
  private peak = 0;

  constructor(voters: readonly number[] = [], learners: readonly number[] = []) {
    const confState = learners.length > 0 ? { voters: [...voters], learners: [...learners] } : { voters: [...voters] };
    this.snap = { index: 0, term: 0, confState, data: new Uint8Array(0) };
    this.ents = [dummy(0, 0)];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(index: number): number {
    const off = this.offset();
    invariant(index >= off, () => `term(${index}) of a compacted index: the log starts after ${off}`);
    const e = this.ents[index - off];
    invariant(e !== undefined, () => `term(${index}) > last ${this.lastIndex()}`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const off = this.offset();
    invariant(lo > off, () => `entries(${lo}) of compacted entries: the log starts after ${off}`);
    invariant(hi <= this.lastIndex() + 1, () => `entries hi ${hi} out of bound last ${this.lastIndex()}`);
    return [...limitSize(this.ents.slice(lo - off, hi - off), maxBytes)];
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Bytes of the entries held (entrySize each), the in-memory log the byte bound limits. */
  heldBytes(): number {
    return this.bytes;
  }

  /** The most heldBytes() has been since this storage was created. */
  peakHeldBytes(): number {
    return this.peak;
  }

  /**
   * The lowest index `c` (not below the log's start) such that the entries in (c, upTo] hold
   * at most `maxBytes`: compacting through `c` keeps the newest entries that fit the budget.
   */
  compactIndexKeeping(upTo: number, maxBytes: number): number {
    const off = this.offset();
    invariant(upTo <= this.lastIndex(), () => `compactIndexKeeping(${upTo}) > last ${this.lastIndex()}`);
    let kept = 0;
    let c = upTo;
    while (c > off) {
      const size = entrySize(this.ents[c - off]!);
      if (kept + size > maxBytes) break;
      kept += size;
      c--;
    }
    return c;
  }

  /** Replaces all content with a received snapshot (follower install). */
  applySnapshot(snap: Snapshot): void {
    invariant(snap.index > this.snap.index, () => `snapshot ${snap.index} is out of date: ${snap.index} <= ${this.snap.index}`);
    this.snap = snap;
    this.ents = [dummy(snap.index, snap.term)];
    this.bytes = 0;
  }

  /** Records a snapshot of the state machine at `index` (<= last applied); does not compact. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    invariant(index > this.snap.index, () => `snapshot ${index} is out of date: ${index} <= ${this.snap.index}`);
    invariant(index <= this.lastIndex(), () => `snapshot ${index} > last ${this.lastIndex()}`);
    this.snap = { index, term: this.term(index), confState, data };
    return this.snap;
  }

  /** Discards entries up to and including `compactIndex`, which must be <= the applied index. */
  compact(compactIndex: number): void {
    const off = this.offset();
    if (compactIndex <= off) return;
    invariant(compactIndex <= this.lastIndex(), () => `compact ${compactIndex} > last ${this.lastIndex()}`);
    const i = compactIndex - off;
    for (let j = 1; j <= i; j++) this.bytes -= entrySize(this.ents[j]!);
    this.ents = [dummy(compactIndex, this.ents[i]!.term), ...this.ents.slice(i + 1)];
  }

  /** Appends entries, replacing any conflicting suffix. Entries must be contiguous. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return; // entirely compacted already
    let ents = entries;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const start = ents[0]!.index - this.offset();
    invariant(start <= this.ents.length, () => `missing log entry: last ${this.lastIndex()}, append at ${ents[0]!.index}`);
    for (let j = start; j < this.ents.length; j++) this.bytes -= entrySize(this.ents[j]!);
    this.ents.length = start; // drop any conflicting suffix
    for (const e of ents) {
      this.ents.push(e);
      this.bytes += entrySize(e);
    }
    if (this.bytes > this.peak) this.peak = this.bytes;
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(0) };
}
