import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { PasswordHash } from '../../../gen/ts/cairn/internal/v1/auth.js';

/**
 * Passwords are stored as scrypt hashes (memory-hard: each guess costs 16 MiB and tens of
 * milliseconds) with a random salt. The hash is computed by the member that receives the
 * request, so the replicated log and every data dir carry only the hash.
 */
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Node's defaults (N=2^14, r=8, p=1): OWASP's floor for scrypt, fast enough to log in. */
const COST = 16_384;
const BLOCK_SIZE = 8;
const PARALLELIZATION = 1;
/** Hashes written by another member with higher parameters must still verify; refuse absurd ones. */
const MAX_COST = 1 << 20;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, HASH_BYTES, { ...options, maxmem: 256 * options.N! * options.r! + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, { N: COST, r: BLOCK_SIZE, p: PARALLELIZATION });
  return { salt, hash, cost: COST, blockSize: BLOCK_SIZE, parallelization: PARALLELIZATION };
}

/** Whether password matches the stored hash; compared in constant time. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (stored.cost < 2 || stored.cost > MAX_COST || stored.hash.length !== HASH_BYTES) return false;
  const candidate = await derive(password, stored.salt, { N: stored.cost, r: stored.blockSize, p: stored.parallelization });
  return timingSafeEqual(candidate, stored.hash);
}
