import sortedBtree from 'sorted-btree';

// sorted-btree is CommonJS with its class on `default`; under Node's ESM interop the
// default import is the whole exports object.
const BTree = sortedBtree.default;
type BTree<K, V> = InstanceType<typeof sortedBtree.default<K, V>>;
import { invariant } from '../invariant.js';
import { Generation } from './key-generation.js';
import { compareRevisions, type Revision } from './revision.js';

/**
 * A key's lives, oldest first: nearly every key has one, held without an array around it
 * (an array per key would cost about 50 bytes more; issue 9). A key whose one life so far is
 * one put (most keys of a config store, every key of a bulk load) is only that put's
 * revision, packed into a number (`PackedPut`): a Generation object costs 80 bytes on
 * Node's 64-bit heap, the number at most a 16-byte heap number. It becomes a Generation at
 * its second change.
 */
type Generations = Generation | Generation[] | PackedPut;

/** A put's revision as `main * SUB_SPAN + sub`: created by that put, version 1, live. */
type PackedPut = number;

/** Subs below this (changes in one revision) pack; a larger one keeps its Generation. */
const SUB_SPAN = 2 ** 16;
/** Mains below this pack, so that every packed number is a safe integer. */
const MAIN_SPAN = 2 ** 37;

/** The put's revision packed, or undefined when it does not fit (the key then gets a Generation). */
function packPut(rev: Revision): PackedPut | undefined {
  return rev.main < MAIN_SPAN && rev.sub < SUB_SPAN ? rev.main * SUB_SPAN + rev.sub : undefined;
}

function unpackPut(packed: PackedPut): Revision {
  return { main: Math.floor(packed / SUB_SPAN), sub: packed % SUB_SPAN };
}

/** A key's first put, packed when it fits. */
function firstPut(rev: Revision): Generation | PackedPut {
  return packPut(rev) ?? new Generation(rev);
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
  private readonly keys = new BTree<string, Generations>();

  get size(): number {
    return this.keys.size;
  }

  put(key: string, rev: Revision): void {
    const generations = this.keys.get(key);
    if (generations === undefined) this.keys.set(key, firstPut(rev));
    else this.extend(key, generations, rev);
  }

  /**
   * Records a put of key at rev and returns what a read at atRev saw of the key just before
   * it (get(key, atRev) before put(key, rev)): one tree lookup for a key already indexed and
   * two for a new one, where get() then put() took two and three. Every put of a write
   * request goes through here.
   */
  putAfterRead(key: string, rev: Revision, atRev: number): KeyAtRevision | undefined {
    const generations = this.keys.get(key);
    if (generations === undefined) {
      this.keys.set(key, firstPut(rev));
      return undefined;
    }
    // visibleAt answers fresh objects, which the push below does not change.
    const seen = visibleAt(generations, atRev);
    this.extend(key, generations, rev);
    return seen;
  }

  private extend(key: string, generations: Generations, rev: Revision): void {
    if (typeof generations === 'number') {
      const gen = new Generation(unpackPut(generations));
      gen.push(rev);
      this.keys.set(key, gen);
      return;
    }
    const last = lastOf(generations);
    if (last.ended) this.keys.set(key, appended(generations, new Generation(rev)));
    else last.push(rev);
  }

  /**
   * Re-indexes a stored put while rebuilding the index at start. Earlier revisions of its
   * generation may have been compacted away, so creation and version come from the record.
   */
  restorePut(key: string, rev: Revision, createdMain: number, version: number): void {
    this.put(key, rev);
    // A packed put stands for created at its own revision, version 1: kept when the record
    // says so (only the created revision's main is ever read), made a Generation otherwise.
    if (createdMain === rev.main && version === 1 && typeof this.keys.get(key) === 'number') return;
    const last = lastOf(this.generationsToChange(key)!);
    if (last.count === 1) {
      last.createdMain = createdMain;
      last.createdSub = 0;
    }
    last.changes = version;
  }

  /** Re-indexes a stored delete at start; its put may already be compacted away. */
  restoreTombstone(key: string, rev: Revision): void {
    const generations = this.generationsToChange(key);
    if (generations !== undefined && !lastOf(generations).ended) {
      this.tombstone(key, rev);
      return;
    }
    const orphan = new Generation(rev);
    orphan.ended = true;
    this.keys.set(key, generations === undefined ? orphan : appended(generations, orphan));
  }

  /** Records a delete; the key must be live. */
  tombstone(key: string, rev: Revision): void {
    const generations = this.generationsToChange(key);
    const last = generations === undefined ? undefined : lastOf(generations);
    invariant(last !== undefined && !last.ended, () => `tombstone of key that is not live at ${rev.main}`);
    last.push(rev);
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
    this.keys.forRange(start, high, toEnd, (key: string, generations: Generations) => {
      const found = visibleAt(generations, atRev);
      if (found !== undefined) visit(key, found);
    });
  }

  /** The revision of key's change just before rev, if it is still indexed and not a tombstone. */
  previous(key: string, rev: Revision): KeyAtRevision | undefined {
    const generations = this.keys.get(key);
    if (generations === undefined) return undefined;
    if (typeof generations === 'number') {
      const put = unpackPut(generations);
      return compareRevisions(put, rev) < 0 ? { modified: put, created: put, version: 1 } : undefined;
    }
    const all = asArray(generations);
    for (let g = all.length - 1; g >= 0; g--) {
      const gen = all[g]!;
      for (let i = gen.count - 1; i >= 0; i--) {
        const candidate = gen.revisionAt(i);
        if (compareRevisions(candidate, rev) >= 0) continue;
        if (gen.ended && i === gen.count - 1) return undefined;
        return { modified: candidate, created: gen.created, version: gen.versionAt(i) };
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
    const changed: [string, Generations][] = [];
    this.keys.forEach((generations: Generations, key: string) => {
      if (typeof generations === 'number') {
        // One put, live: it stays, and is kept in storage if it is below atRev.
        const put = unpackPut(generations);
        if (put.main < atRev) kept.add(revisionId(put));
        return;
      }
      const all = asArray(generations);
      const survivors: Generation[] = [];
      for (const gen of all) {
        if (gen.ended && gen.mainAt(gen.count - 1) < atRev) continue;
        const firstKept = gen.lastIndexBefore(atRev + 1);
        if (firstKept > 0) gen.dropFirst(firstKept);
        const head = gen.revisionAt(0);
        if (head.main < atRev) kept.add(revisionId(head));
        survivors.push(gen);
      }
      if (survivors.length === 0) emptied.push(key);
      else if (survivors.length !== all.length) changed.push([key, survivors.length === 1 ? survivors[0]! : survivors]);
    });
    for (const key of emptied) this.keys.delete(key);
    for (const [key, generations] of changed) this.keys.set(key, generations);
    return kept;
  }

  /**
   * The key's generations for a change a packed put cannot show (a delete, a restored
   * creation or version): a packed put is made a Generation first, and stored.
   */
  private generationsToChange(key: string): Generation | Generation[] | undefined {
    const generations = this.keys.get(key);
    if (typeof generations !== 'number') return generations;
    const gen = new Generation(unpackPut(generations));
    this.keys.set(key, gen);
    return gen;
  }
}

function lastOf(generations: Generation | Generation[]): Generation {
  return generations instanceof Generation ? generations : generations[generations.length - 1]!;
}

function asArray(generations: Generation | Generation[]): readonly Generation[] {
  return generations instanceof Generation ? [generations] : generations;
}

/** The generations with one more after them (a new array: the single form has none to grow). */
function appended(generations: Generation | Generation[], gen: Generation): Generation[] {
  if (generations instanceof Generation) return [generations, gen];
  generations.push(gen);
  return generations;
}

/** A string naming a revision, for sets of revisions. */
export function revisionId(rev: Revision): string {
  return `${rev.main}_${rev.sub}`;
}

function visibleAt(generations: Generations, atRev: number): KeyAtRevision | undefined {
  if (typeof generations === 'number') {
    const put = unpackPut(generations);
    // A key read at the put that created it shares one object, as visibleIn does.
    return put.main <= atRev ? { modified: put, created: put, version: 1 } : undefined;
  }
  if (generations instanceof Generation) return visibleIn(generations, atRev);
  for (let g = generations.length - 1; g >= 0; g--) {
    const gen = generations[g]!;
    if (gen.mainAt(0) > atRev) continue;
    return visibleIn(gen, atRev);
  }
  return undefined;
}

/** What a read at atRev sees of one generation, which must not begin after atRev (or sees nothing). */
function visibleIn(gen: Generation, atRev: number): KeyAtRevision | undefined {
  const n = gen.lastIndexBefore(atRev + 1);
  if (n < 0 || (gen.ended && n === gen.count - 1)) return undefined;
  const modified = gen.revisionAt(n);
  // A key read at the put that created it (most keys of a config store) shares one object.
  const created = gen.createdMain === modified.main && gen.createdSub === modified.sub ? modified : gen.created;
  return { modified, created, version: gen.versionAt(n) };
}
