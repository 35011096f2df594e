/**
 * Key selection shared by range, delete, watch and compare, as in etcd v3: an empty end
 * selects only the key; end "\0" selects every key >= key; otherwise [key, end).
 * Keys are handled as latin1 strings, whose order matches the byte order of the keys.
 */
export interface KeyRange {
  readonly start: string;
  /** undefined: the single key `start`; '': no upper bound; otherwise exclusive end. */
  readonly end: string | undefined;
}

export function toKeyRange(key: Buffer, rangeEnd: Buffer): KeyRange {
  const start = key.toString('latin1');
  if (rangeEnd.length === 0) return { start, end: undefined };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: '' };
  return { start, end: rangeEnd.toString('latin1') };
}

export function rangeContains(range: KeyRange, key: string): boolean {
  if (range.end === undefined) return key === range.start;
  return key >= range.start && (range.end === '' || key < range.end);
}

export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/**
 * The range_end that selects every key starting with prefix (etcd's GetPrefixRangeEnd): the
 * prefix with its last byte below 0xff incremented and the rest dropped. The one copy for the
 * member's services and the CLI (the SDKs keep their own: they do not import server/).
 */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): no key is greater, so the prefix reaches the end of the keyspace.
  return Buffer.from([0]);
}
