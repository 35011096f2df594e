import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthStore } from '../../apply/auth/auth-store.js';
import { CairnError, ErrorCode } from '../../errors.js';

/**
 * Stateless signed tokens: "c1.<payload>.<signature>", base64url, where the payload names
 * the user, the user's credential revision and the expiry, and the signature is
 * HMAC-SHA256 under a key drawn at AuthEnable and replicated with the auth store.
 *
 * Why this design: any member validates any token with no round trip and no token table
 * to replicate (etcd's "simple" tokens live on one member only, and its JWTs need a key
 * pair on disk on every member); and revocation still works, because a token is checked
 * against the current replicated state on every call:
 * - the user deleted, or its password changed: the credential revision no longer matches;
 * - auth disabled (and enabled again): the key is a new one.
 * Expiry is judged by the validating member's clock, so clock skew between members shifts
 * it by as much; the TTL (--auth-token-ttl) should dwarf the skew.
 */
const VERSION = 'c1';

interface TokenPayload {
  /** user */
  u: string;
  /** the user's credential revision */
  r: number;
  /** expiry, ms since the epoch */
  e: number;
}

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

export function issueToken(store: AuthStore, user: string, ttlMs: number, now: number): string {
  const record = store.user(user);
  if (record === undefined || !store.enabled) throw new CairnError(ErrorCode.ERROR_CODE_AUTH_FAILED, 'authentication failed');
  const payload: TokenPayload = { u: user, r: record.credentialRevision, e: now + ttlMs };
  const body = `${VERSION}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${sign(store.tokenKey, body)}`;
}

/** The user a token authenticates, or INVALID_AUTH_TOKEN. */
export function verifyToken(store: AuthStore, token: string, now: number): string {
  const invalid = (why: string): CairnError => new CairnError(ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN, `invalid auth token: ${why}`);
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) throw invalid('malformed');
  const body = `${parts[0]}.${parts[1]}`;
  const expected = Buffer.from(sign(store.tokenKey, body));
  const given = Buffer.from(parts[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    throw invalid('bad signature (or authentication was re-enabled since)');
  let payload: TokenPayload;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as TokenPayload;
  } catch {
    throw invalid('malformed');
  }
  if (typeof payload.u !== 'string' || typeof payload.r !== 'number' || typeof payload.e !== 'number') throw invalid('malformed');
  if (payload.e <= now) throw invalid('expired; authenticate again');
  const user = store.user(payload.u);
  if (user === undefined || user.credentialRevision !== payload.r) throw invalid('revoked (the user was deleted or changed password)');
  return payload.u;
}
