import { IntervalTree } from './interval-tree.js';
import type { Watcher } from './watcher.js';

/**
 * Watchers found by the key of an event, as etcd's watcherGroup: a map for single-key
 * watchers and an interval tree for range watchers (watchers on the same range share a
 * node). Finding the watchers of a key costs O(log ranges + matches), not O(watchers).
 */
export class WatcherIndex {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly byRange = new IntervalTree<Set<Watcher>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(watcher: Watcher): void {
    const { start, end } = watcher.range;
    let set = end === undefined ? this.byKey.get(start) : this.byRange.get(start, end);
    if (set === undefined) {
      set = new Set();
      if (end === undefined) this.byKey.set(start, set);
      else this.byRange.set(start, end, set);
    }
    if (set.has(watcher)) return;
    set.add(watcher);
    this.count++;
  }

  delete(watcher: Watcher): boolean {
    const { start, end } = watcher.range;
    const set = end === undefined ? this.byKey.get(start) : this.byRange.get(start, end);
    if (set === undefined || !set.delete(watcher)) return false;
    this.count--;
    if (set.size === 0) {
      if (end === undefined) this.byKey.delete(start);
      else this.byRange.delete(start, end);
    }
    return true;
  }

  /**
   * Calls fn for every watcher whose range contains key. fn must not add or delete watchers
   * of this index (collect them and change the index afterwards).
   */
  match(key: string, fn: (watcher: Watcher) => void): void {
    const exact = this.byKey.get(key);
    if (exact !== undefined) for (const w of exact) fn(w);
    if (this.byRange.size > 0) this.byRange.stab(key, (set) => set.forEach(fn));
  }

  /** Every watcher, as an array (safe to change the index while going through it). */
  all(): Watcher[] {
    const out: Watcher[] = [];
    for (const set of this.byKey.values()) for (const w of set) out.push(w);
    this.byRange.forEach((set) => set.forEach((w) => out.push(w)));
    return out;
  }
}
