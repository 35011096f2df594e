import { toKeyRange } from '../../mvcc/key-range.js';

/**
 * Key intervals [start, end) over latin1 strings, whose order is the keys' byte order;
 * end undefined means "to the end of the keyspace". A single key k is [k, k + "\0").
 */
export interface KeyInterval {
  readonly start: string;
  readonly end: string | undefined;
}

/** The interval a key and range_end select (etcd's rules, see mvcc/key-range.ts). */
export function intervalOf(key: Buffer, rangeEnd: Buffer): KeyInterval {
  const range = toKeyRange(key, rangeEnd);
  if (range.end === undefined) return { start: range.start, end: range.start + '\0' };
  return { start: range.start, end: range.end === '' ? undefined : range.end };
}

/**
 * Intervals merged into disjoint, sorted ones, so that "is [a, b) inside the union" is one
 * walk. Like etcd's range_perm_cache, but a sorted list: a user has few permissions.
 */
export class KeyCoverage {
  private readonly merged: KeyInterval[];

  constructor(intervals: readonly KeyInterval[]) {
    const sorted = [...intervals].sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    const merged: { start: string; end: string | undefined }[] = [];
    for (const next of sorted) {
      const last = merged[merged.length - 1];
      if (last !== undefined && (last.end === undefined || next.start <= last.end)) {
        if (last.end !== undefined && (next.end === undefined || next.end > last.end)) last.end = next.end;
      } else {
        merged.push({ ...next });
      }
    }
    this.merged = merged;
  }

  /** Whether every key of the interval is covered. An interval that selects nothing is. */
  covers(wanted: KeyInterval): boolean {
    if (wanted.end !== undefined && wanted.end <= wanted.start) return true;
    for (const have of this.merged) {
      if (have.start > wanted.start) return false;
      if (have.end === undefined) return true;
      if (have.end > wanted.start) return wanted.end !== undefined && wanted.end <= have.end;
    }
    return false;
  }
}
