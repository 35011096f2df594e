/** A small seeded PRNG (mulberry32) so nemesis schedules and workloads replay from a seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(items.length)]!;
  }
  /** A choice by weight: [[item, weight], ...]. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let r = this.next() * choices.reduce((sum, [, w]) => sum + w, 0);
    for (const [item, w] of choices) if ((r -= w) < 0) return item;
    return choices.at(-1)![0];
  }
}
