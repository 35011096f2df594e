import { createHash } from 'node:crypto';
import { DEFAULT_LIMITS } from '../config.js';
import type { MvccStore } from './kv-store.js';

/** Keys per page read from the store. */
const PAGE_KEYS = 1000;
/**
 * Bytes of keys and values per page: 1,000 values of 1 MiB would be ~1 GiB read at once.
 * Values are read `pageBytes / maxValueBytes` keys at a time (see PageBytes), so a page
 * holds less than twice this whatever the values' sizes.
 */
export const HASH_PAGE_BYTES = 16 * 1024 * 1024;

export interface HashPaging {
  /** The largest value the store may hold (--max-value-bytes); default: the default limit. */
  readonly maxValueBytes?: number;
  /** Default HASH_PAGE_BYTES. */
  readonly pageBytes?: number;
}

/**
 * A digest of the key space at a revision: every visible key with its value, revisions,
 * version and lease, in key order. Members that applied the same log agree on it, whatever
 * their storage engine, so it is how tests and operators check convergence.
 */
export async function hashKeySpace(
  store: MvccStore,
  revision: number,
  paging: HashPaging = {},
): Promise<{ hash: string; revision: number; keys: number }> {
  const atRev = revision > 0 ? revision : store.currentRevision;
  const maxBytes = paging.pageBytes ?? HASH_PAGE_BYTES;
  const pageBytes = { maxBytes, keysPerRead: Math.floor(maxBytes / (paging.maxValueBytes ?? DEFAULT_LIMITS.maxValueBytes)) };
  const digest = createHash('sha256');
  let keys = 0;
  let from = Buffer.from([0]);
  for (;;) {
    const page = await store.range(
      {
        key: from,
        rangeEnd: Buffer.from([0]),
        limit: PAGE_KEYS,
        revision: atRev,
        sortOrder: 0,
        sortTarget: 0,
        serializable: true,
        keysOnly: false,
        countOnly: false,
        maxStalenessMs: 0,
      },
      pageBytes,
    );
    for (const kv of page.kvs) {
      const fields = Buffer.alloc(32);
      fields.writeDoubleBE(kv.createRevision, 0);
      fields.writeDoubleBE(kv.modRevision, 8);
      fields.writeDoubleBE(kv.version, 16);
      fields.writeDoubleBE(kv.lease, 24);
      digest.update(lengthPrefixed(kv.key)).update(lengthPrefixed(kv.value)).update(fields);
      keys++;
    }
    const last = page.kvs[page.kvs.length - 1];
    if (!page.more || last === undefined) break;
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
  return { hash: digest.digest('hex'), revision: atRev, keys };
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}
