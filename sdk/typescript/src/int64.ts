/**
 * Revisions, versions and lease ids are 64-bit on the wire. The SDK hands them out as
 * `bigint`, so one beyond 2^53 arrives exact; it takes them as `bigint` or, for
 * convenience, as a `number` that is a safe integer (a larger number has already lost
 * digits, so it is refused rather than sent rounded).
 */
export type Int64 = bigint | number;

export function toBigInt(value: Int64, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${what} ${value} is not a safe integer: pass it as a bigint (e.g. ${what === 'lease' ? '0x1n' : '5n'})`);
  }
  return BigInt(value);
}
