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

/**
 * A seed for one part of a run (a test, a run of several) from a base seed and a label, so
 * that one printed base seed replays every run derived from it.
 */
export function deriveSeed(base: number, label: string): number {
  let h = 0x811c9dc5 ^ (base >>> 0);
  for (const c of `${base}/${label}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return (h >>> 0) % 2 ** 31;
}

/** The base seed: CHAOS_SEED when set (to replay), else a fresh random one. */
export function baseSeed(): number {
  const fromEnv = process.env['CHAOS_SEED'];
  if (fromEnv === undefined || fromEnv === '') return Math.floor(Math.random() * 2 ** 31);
  const n = Number(fromEnv);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`CHAOS_SEED must be a non-negative integer, not ${fromEnv}`);
  return n;
}
