import sortedBtree from 'sorted-btree';

// sorted-btree is CommonJS with its class on `default`; under Node's ESM interop the
// default import is the whole exports object.
const BTree = sortedBtree.default;
type BTree<K, V> = InstanceType<typeof sortedBtree.default<K, V>>;
import { invariant } from '../invariant.js';
import { compareRevisions, type Revision } from './revision.js';

/**
 * One life of a key: from the put that created it to the delete that ended it. The
 * revisions are the changes in order; when ended, the last one is the delete (tombstone).
 */
interface Generation {
  /** The put that started this life; kept even when compaction drops it from revs. */
  created: Revision;
  /** Changes ever made in this life, including compacted ones: the version of revs[last]. */
  changes: number;
  revs: Revision[];
  ended: boolean;
}

/** What the index knows of one key at one revision, enough to read its stored version. */
export interface KeyAtRevision {
  modified: Revision;
  created: Revision;
  version: number;
}

/**
 * The in-memory index from key to the revisions that changed it, in the spirit of etcd's
 * keyIndex: the values live in storage under their revision; this index says which
 * revision of a key is visible at a given store revision. Keys are latin1 strings, whose
 * code-unit order equals the byte order of the original keys.
 */
export class KeyIndex {
  private readonly keys = new BTree<string, Generation[]>();

  get size(): number {
    return this.keys.size;
  }

  put(key: string, rev: Revision): void {
    const generations = this.keys.get(key);
    if (generations === undefined) {
      this.keys.set(key, [newGeneration(rev)]);
      return;
    }
    const last = generations[generations.length - 1];
    if (last === undefined || last.ended) {
      generations.push(newGeneration(rev));
    } else {
      last.revs.push(rev);
      last.changes++;
    }
  }

  /**
   * Re-indexes a stored put while rebuilding the index at start. Earlier revisions of its
   * generation may have been compacted away, so creation and version come from the record.
   */
  restorePut(key: string, rev: Revision, createdMain: number, version: number): void {
    this.put(key, rev);
    const generations = this.keys.get(key)!;
    const last = generations[generations.length - 1]!;
    if (last.revs.length === 1) last.created = { main: createdMain, sub: 0 };
    last.changes = version;
  }

  /** Re-indexes a stored delete at start; its put may already be compacted away. */
  restoreTombstone(key: string, rev: Revision): void {
    const generations = this.keys.get(key);
    const last = generations?.[generations.length - 1];
    if (last !== undefined && !last.ended) {
      this.tombstone(key, rev);
      return;
    }
    const orphan: Generation = { created: rev, changes: 1, revs: [rev], ended: true };
    if (generations === undefined) this.keys.set(key, [orphan]);
    else generations.push(orphan);
  }

  /** Records a delete; the key must be live. */
  tombstone(key: string, rev: Revision): void {
    const generations = this.keys.get(key);
    const last = generations?.[generations.length - 1];
    invariant(last !== undefined && !last.ended, () => `tombstone of key that is not live at ${rev.main}`);
    last.revs.push(rev);
    last.changes++;
    last.ended = true;
  }

  /** The visible version of key at store revision atRev, or undefined if it did not exist. */
  get(key: string, atRev: number): KeyAtRevision | undefined {
    const generations = this.keys.get(key);
    return generations === undefined ? undefined : visibleAt(generations, atRev);
  }

  /** Keys in [start, end) (end undefined: only start; end "" : to the last key) live at atRev, in key order. */
  range(start: string, end: string | undefined, atRev: number, visit: (key: string, found: KeyAtRevision) => void): void {
    if (end === undefined) {
      const found = this.get(start, atRev);
      if (found !== undefined) visit(start, found);
      return;
    }
    const toEnd = end === '';
    const high = toEnd ? this.keys.maxKey() : end;
    if (high === undefined) return;
    this.keys.forRange(start, high, toEnd, (key: string, generations: Generation[]) => {
      const found = visibleAt(generations, atRev);
      if (found !== undefined) visit(key, found);
    });
  }

  /** The revision of key's change just before rev, if it is still indexed and not a tombstone. */
  previous(key: string, rev: Revision): KeyAtRevision | undefined {
    const generations = this.keys.get(key);
    if (generations === undefined) return undefined;
    for (let g = generations.length - 1; g >= 0; g--) {
      const gen = generations[g]!;
      for (let i = gen.revs.length - 1; i >= 0; i--) {
        const candidate = gen.revs[i]!;
        if (compareRevisions(candidate, rev) >= 0) continue;
        if (gen.ended && i === gen.revs.length - 1) return undefined;
        return { modified: candidate, created: gen.created, version: versionAt(gen, i) };
      }
    }
    return undefined;
  }

  /**
   * Forgets history before atRev while keeping what a read at atRev needs: in each key, the
   * latest change at or before atRev if it is a put; a tombstone is kept only when it is at
   * atRev itself (a watch from atRev must still see it). Returns the revisions before atRev
   * that survive, so the caller can delete every other stored revision below atRev.
   */
  compact(atRev: number): Set<string> {
    const kept = new Set<string>();
    const emptied: string[] = [];
    this.keys.forEach((generations: Generation[], key: string) => {
      const survivors: Generation[] = [];
      for (const gen of generations) {
        const last = gen.revs[gen.revs.length - 1]!;
        if (gen.ended && last.main < atRev) continue;
        const firstKept = lastIndexBefore(gen.revs, atRev + 1);
        if (firstKept > 0) gen.revs.splice(0, firstKept);
        const head = gen.revs[0]!;
        if (head.main < atRev) kept.add(revisionId(head));
        survivors.push(gen);
      }
      if (survivors.length === 0) emptied.push(key);
      else if (survivors.length !== generations.length) this.keys.set(key, survivors);
    });
    for (const key of emptied) this.keys.delete(key);
    return kept;
  }
}

function newGeneration(rev: Revision): Generation {
  return { created: rev, changes: 1, revs: [rev], ended: false };
}

/** The version (puts so far in this life) of the change at position i of gen.revs. */
function versionAt(gen: Generation, i: number): number {
  return gen.changes - (gen.revs.length - 1 - i);
}

/** A string naming a revision, for sets of revisions. */
export function revisionId(rev: Revision): string {
  return `${rev.main}_${rev.sub}`;
}

function visibleAt(generations: Generation[], atRev: number): KeyAtRevision | undefined {
  for (let g = generations.length - 1; g >= 0; g--) {
    const gen = generations[g]!;
    const first = gen.revs[0];
    if (first === undefined || first.main > atRev) continue;
    const n = lastIndexBefore(gen.revs, atRev + 1);
    if (gen.ended && n === gen.revs.length - 1) return undefined;
    return { modified: gen.revs[n]!, created: gen.created, version: versionAt(gen, n) };
  }
  return undefined;
}

/** Index of the last revision with main < bound (revs sorted ascending); -1 if none. */
function lastIndexBefore(revs: Revision[], bound: number): number {
  let lo = 0;
  let hi = revs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (revs[mid]!.main < bound) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
