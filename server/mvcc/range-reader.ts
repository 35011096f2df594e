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

interface Match {
  key: string;
  at: KeyAtRevision;
  kv?: KeyValue;
}

/**
 * Reads a range at one revision: the index picks the visible version of each key, storage
 * supplies the values of the ones returned. The caller has checked that atRev is readable.
 */
export async function readRange(index: KeyIndex, atRev: number, req: RangeRequest, load: VersionLoader): Promise<RangeReadResult> {
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

  const limited = req.limit > 0 && matches.length > req.limit ? matches.slice(0, req.limit) : matches;
  await attachValues(limited, load);
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
