/** fast-check arbitraries shared by the fuzz targets. */
import fc from 'fast-check';
import type { Mutation } from './fuzz-params.js';

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

/** Small numbers mostly (the interesting ones for Raft), the odd large one. */
export const uintArb = fc.oneof(fc.nat({ max: 10 }), fc.nat(), fc.maxSafeNat());
