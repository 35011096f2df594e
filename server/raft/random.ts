/**
 * The only source of randomness the core uses (randomized election timeouts). Injected so a
 * seeded implementation makes every run reproducible.
 */
export interface RandomSource {
  /** A uniformly distributed integer in [0, n). */
  nextInt(n: number): number;
}
