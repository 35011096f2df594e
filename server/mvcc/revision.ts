/**
 * A revision names one change: `main` is the store revision (one per write request),
 * `sub` orders the changes inside it (a transaction changes several keys at one main).
 * Encoded big-endian so that byte order of stored keys is revision order.
 */
export interface Revision {
  readonly main: number;
  readonly sub: number;
}

/**
 * The revision of a store nothing was ever written to; its first write gets the next one.
 * etcd starts here (a fresh etcd's first write is revision 2), and its clients depend on it:
 * clientv3's Election.Campaign waits for keys created at or below its own revision - 1, and
 * a bound of 0 means "no bound". Stores initialised before Cairn started here keep their
 * numbering (see decodeCurrentRevision in schema.ts, the one place that decides).
 */
export const EMPTY_STORE_REVISION = 1;

export const REVISION_BYTES = 16;
const TWO_32 = 2 ** 32;

export function compareRevisions(a: Revision, b: Revision): number {
  return a.main - b.main || a.sub - b.sub;
}

export function writeRevision(target: Buffer, offset: number, rev: Revision): void {
  writeUint64(target, offset, rev.main);
  writeUint64(target, offset + 8, rev.sub);
}

export function readRevision(source: Buffer, offset: number): Revision {
  return { main: readUint64(source, offset), sub: readUint64(source, offset + 8) };
}

function writeUint64(target: Buffer, offset: number, value: number): void {
  target.writeUInt32BE(Math.floor(value / TWO_32), offset);
  target.writeUInt32BE(value >>> 0, offset + 4);
}

function readUint64(source: Buffer, offset: number): number {
  return source.readUInt32BE(offset) * TWO_32 + source.readUInt32BE(offset + 4);
}
