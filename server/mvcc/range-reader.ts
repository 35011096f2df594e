import { RangeRequest_SortOrder, RangeRequest_SortTarget, type RangeRequest } from '../../gen/ts/cairn/v1/kv.js';
import type { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import type { KeyAtRevision, KeyIndex } from './key-index.js';
import { toKeyRange } from './key-range.js';
import type { Revision } from './revision.js';

/** Loads stored versions by revision; undefined where a revision is not stored. */
export type VersionLoader = (revisions: Revision[]) => Promise<(KeyValue | undefined)[]>;

export interface RangeReadResult {
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

/**
 * A page bounded in bytes as well as by req.limit: keys are read `keysPerRead` at a time and
 * the page ends after the read that brings its keys and values to `maxBytes` (at least one
 * read, so a page always progresses). With every value at most V bytes and keysPerRead at
 * most maxBytes / V, a page holds less than twice maxBytes, whatever the values' sizes.
 */
export interface PageBytes {
  readonly maxBytes: number;
  readonly keysPerRead: number;
}

interface Match {
  key: string;
  at: KeyAtRevision;
  kv?: KeyValue;
}

/**
 * Reads a range at one revision: the index picks the visible version of each key, storage
 * supplies the values of the ones returned. The caller has checked that atRev is readable.
 */
export async function readRange(
  index: KeyIndex,
  atRev: number,
  req: RangeRequest,
  load: VersionLoader,
  pageBytes?: PageBytes,
): Promise<RangeReadResult> {
  const matches: Match[] = [];
  const { start, end } = toKeyRange(req.key, req.rangeEnd);
  index.range(start, end, atRev, (key, at) => matches.push({ key, at }));
  const count = matches.length;
  if (req.countOnly) return { kvs: [], more: false, count };

  const target = req.sortTarget;
  const order = req.sortOrder;
  if (target === RangeRequest_SortTarget.SORT_TARGET_VALUE) {
    // Sorting by value needs every value; other targets sort on what the index knows.
    await attachValues(matches, load);
  }
  sortMatches(matches, target, order);

  let limited = req.limit > 0 && matches.length > req.limit ? matches.slice(0, req.limit) : matches;
  if (pageBytes === undefined) await attachValues(limited, load);
  else limited = await attachValuesWithin(limited, load, pageBytes);
  const kvs = limited.map((m) => (req.keysOnly ? { ...m.kv!, value: Buffer.alloc(0) } : m.kv!));
  return { kvs, more: limited.length < count, count };
}

async function attachValues(matches: Match[], load: VersionLoader): Promise<void> {
  const missing = matches.filter((m) => m.kv === undefined);
  if (missing.length === 0) return;
  const kvs = await load(missing.map((m) => m.at.modified));
  missing.forEach((m, i) => {
    const kv = kvs[i];
    if (kv === undefined) throw new MissingVersionError(m.at.modified);
    m.kv = kv;
  });
}

/** Attaches values read by read until the page holds pageBytes.maxBytes; returns the matches it covers. */
async function attachValuesWithin(matches: Match[], load: VersionLoader, pageBytes: PageBytes): Promise<Match[]> {
  const step = Math.max(1, Math.floor(pageBytes.keysPerRead));
  let bytes = 0;
  let end = 0;
  while (end < matches.length && bytes < pageBytes.maxBytes) {
    const read = matches.slice(end, end + step);
    await attachValues(read, load);
    for (const m of read) bytes += m.kv!.key.length + m.kv!.value.length;
    end += read.length;
  }
  return end === matches.length ? matches : matches.slice(0, end);
}

/** A version the index points at is not in storage: compacted under a concurrent read. */
export class MissingVersionError extends Error {
  override readonly name = 'MissingVersionError';
  constructor(readonly revision: Revision) {
    super(`stored version at revision ${revision.main}.${revision.sub} is missing`);
  }
}

function sortMatches(matches: Match[], target: RangeRequest_SortTarget, order: RangeRequest_SortOrder): void {
  const byKey = target === RangeRequest_SortTarget.SORT_TARGET_KEY || target === RangeRequest_SortTarget.SORT_TARGET_UNSPECIFIED;
  if (byKey) {
    // The index already yields ascending key order.
    if (order === RangeRequest_SortOrder.SORT_ORDER_DESCEND) matches.reverse();
    return;
  }
  const field = (m: Match): number | Buffer => {
    switch (target) {
      case RangeRequest_SortTarget.SORT_TARGET_VERSION:
        return m.at.version;
      case RangeRequest_SortTarget.SORT_TARGET_CREATE:
        return m.at.created.main;
      case RangeRequest_SortTarget.SORT_TARGET_MOD:
        return m.at.modified.main;
      default:
        return m.kv!.value;
    }
  };
  const sign = order === RangeRequest_SortOrder.SORT_ORDER_DESCEND ? -1 : 1;
  // Array.prototype.sort is stable, so ties keep key order.
  matches.sort((a, b) => {
    const x = field(a);
    const y = field(b);
    const c = typeof x === 'number' ? x - (y as number) : Buffer.compare(x, y as Buffer);
    return sign * c;
  });
}
