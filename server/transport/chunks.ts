/**
 * Re-cuts a byte stream into pieces of exactly `size` bytes (the last may be shorter), so
 * a state machine can yield whatever is convenient (one key, one SST block) and the wire
 * still sees few, bounded messages.
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  if (!(Number.isSafeInteger(size) && size > 0)) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (pendingBytes + buf.byteLength >= size) {
      const take = size - pendingBytes;
      pending.push(buf.subarray(0, take));
      // Copy: the source may reuse its buffer once we ask for the next piece.
      yield Buffer.concat(pending, size);
      buf = buf.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (buf.byteLength > 0) {
      pending.push(Buffer.from(buf));
      pendingBytes += buf.byteLength;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
