import { createHash } from 'node:crypto';
import { hashKeySpace, type HashPaging } from '../../mvcc/hash-kv.js';
import type { MvccStore } from '../../mvcc/kv-store.js';

/** Separates this digest from HashKV's, which covers the key space alone. */
const DOMAIN = 'cairn etcd Maintenance.Hash v1';

/**
 * etcd's Maintenance.Hash for Cairn. etcd hashes its bbolt file, which Cairn does not have;
 * clients only compare the value across members. This digest covers what the store holds at
 * its current revision: the key space (HashKV's digest, read in the same bounded pages), the
 * revision and the compacted revision. Members that applied the same log agree on it, on
 * either engine; it is not etcd's value, and unlike etcd's it does not cover leases, auth or
 * membership. The first four bytes, as etcd's hash is a uint32.
 */
export async function hashStoreContent(store: MvccStore, paging: HashPaging): Promise<{ hash: number; revision: number }> {
  // Read together, before the pages: the key space is then read at this very revision.
  const revision = store.currentRevision;
  const compacted = store.compactedRevision;
  const keySpace = await hashKeySpace(store, revision, paging);
  const revisions = Buffer.alloc(16);
  revisions.writeDoubleBE(revision, 0);
  revisions.writeDoubleBE(compacted, 8);
  const digest = createHash('sha256').update(DOMAIN).update(revisions).update(Buffer.from(keySpace.hash, 'hex')).digest();
  return { hash: digest.readUInt32BE(0), revision };
}
