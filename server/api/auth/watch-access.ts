import type { Authorizer, CallCredentials } from './authorizer.js';

/**
 * What a watch stream asks of authorization. A create needs read permission on its whole
 * range (key to range_end, not just the start key). Open watches are re-checked on every
 * auth change: a revoked permission, a deleted user, a changed password or auth turned on
 * cancels the watches it no longer allows, with the error in cancel_status.
 *
 * The stream's token is judged without its expiry: it was current when the stream opened,
 * and a stream cannot be handed a new one (as with etcd, an open watch outlives its token
 * but not its revocation).
 */
export interface WatchAccess {
  /** Throws a CairnError unless the caller may watch [key, range_end). */
  check(key: Buffer, rangeEnd: Buffer): void;
  /** Calls listener after every auth change; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

export const OPEN_WATCH_ACCESS: WatchAccess = { check: () => undefined, onChange: () => () => undefined };

export function watchAccess(authorizer: Authorizer, credentials: CallCredentials): WatchAccess {
  return {
    check(key, rangeEnd) {
      const user = authorizer.caller(credentials, { ignoreExpiry: true });
      if (user !== undefined) authorizer.checkKeys(user, [{ access: 'read', key, rangeEnd }]);
    },
    onChange: (listener) => authorizer.onChange(listener),
  };
}
