/** Key ranges with etcd semantics, from a command's key, range_end and flags. */
import { prefixEnd } from '../mvcc/key-range.js';
import { argBytes } from './bytes.js';
import { usageError } from './errors.js';
import type { KeySelector } from './sdk.js';

/** "\0" as range_end means "every key >= key". */
export const FROM_KEY_END = Buffer.from([0]);

export interface RangeFlags {
  prefix?: boolean;
  fromKey?: boolean;
  /** The key and range_end are hex. */
  hex?: boolean;
}

export interface KeyRange {
  key: Buffer;
  rangeEnd: Buffer;
}

/** Resolves a command's key, optional range_end and --prefix/--from-key to a key range. */
export function keyRange(key: string, rangeEnd: string | undefined, flags: RangeFlags): KeyRange {
  const chosen = [rangeEnd !== undefined, flags.prefix === true, flags.fromKey === true].filter(Boolean).length;
  if (chosen > 1) throw usageError('use only one of range_end, --prefix and --from-key');
  const k = argBytes(key, flags.hex, 'key');
  if (flags.prefix) {
    // An empty prefix selects every key, which etcd spells key "\0", range_end "\0".
    return k.length === 0 ? { key: FROM_KEY_END, rangeEnd: FROM_KEY_END } : { key: k, rangeEnd: prefixEnd(k) };
  }
  if (flags.fromKey) return { key: k.length === 0 ? FROM_KEY_END : k, rangeEnd: FROM_KEY_END };
  if (k.length === 0) throw usageError('the key must not be empty');
  return { key: k, rangeEnd: rangeEnd === undefined ? Buffer.alloc(0) : argBytes(rangeEnd, flags.hex, 'range_end') };
}

/** The range as the SDK selects keys. */
export function selector(range: KeyRange): KeySelector {
  return range.rangeEnd.length === 0 ? range.key : { key: range.key, end: range.rangeEnd };
}
