import type { KeyNeed } from '../../apply/auth/key-needs.js';
import { prefixEnd } from '../../mvcc/key-range.js';

/** concurrency.NewMutex's prefix: the lock's name and a slash. */
export function lockPrefix(name: Buffer): Buffer {
  return Buffer.concat([name, Buffer.from('/')]);
}

/** concurrency.NewElection's prefix: the election's name and a slash. */
export const electionPrefix = lockPrefix;

/** Reading and writing every key of a lock or election (what the recipe's transactions touch). */
export function prefixNeeds(prefix: Buffer): KeyNeed[] {
  const rangeEnd = prefixEnd(prefix);
  return [
    { access: 'read', key: prefix, rangeEnd },
    { access: 'write', key: prefix, rangeEnd },
  ];
}

export function prefixReadNeeds(prefix: Buffer): KeyNeed[] {
  return [{ access: 'read', key: prefix, rangeEnd: prefixEnd(prefix) }];
}

export function keyNeeds(key: Buffer): KeyNeed[] {
  return [
    { access: 'read', key, rangeEnd: Buffer.alloc(0) },
    { access: 'write', key, rangeEnd: Buffer.alloc(0) },
  ];
}

export function keyWriteNeeds(key: Buffer): KeyNeed[] {
  return [{ access: 'write', key, rangeEnd: Buffer.alloc(0) }];
}
