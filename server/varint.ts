/**
 * Protobuf's base-128 varint, for the few encoders that write a message straight into a
 * buffer sized beforehand (mvcc/stored-version.ts, api/watch-encoding.ts) instead of through
 * the generated writer's growing buffer. For non-negative safe integers only: callers check.
 */

/** Bytes of the varint encoding of `n`. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Writes `n` at `pos` and returns the position after it. Division, not bit shifts: values may pass 2^32. */
export function writeVarint(out: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[pos++] = n;
  return pos;
}
