/** Keys and values are bytes on the wire; the SDK accepts strings (UTF-8) or Buffers. */
export type Bytes = string | Buffer | Uint8Array;

export function toBuffer(b: Bytes): Buffer {
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The exclusive end of the range of keys starting with `prefix` (etcd's rule): the prefix
 * with its last byte below 0xff incremented and the rest dropped; "\0" (every key) when
 * the prefix is empty or all 0xff.
 */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Which keys an operation selects: one key, a prefix, or a [key, end) range. */
export type KeySelector = Bytes | { prefix: Bytes } | { key: Bytes; end: Bytes };

export function selectKeys(sel: KeySelector): { key: Buffer; rangeEnd: Buffer } {
  if (typeof sel === 'string' || sel instanceof Uint8Array) return { key: toBuffer(sel), rangeEnd: Buffer.alloc(0) };
  if ('prefix' in sel) {
    const key = toBuffer(sel.prefix);
    // The empty key is invalid; "\0" is the smallest valid key, so this selects everything.
    if (key.length === 0) return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
    return { key, rangeEnd: prefixEnd(key) };
  }
  return { key: toBuffer(sel.key), rangeEnd: toBuffer(sel.end) };
}
