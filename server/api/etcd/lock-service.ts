import type { Logger } from 'pino';
import type { LockServer } from '../../../gen/ts/etcd/server/etcdserver/api/v3lock/v3lockpb/v3lock.js';
import type { ServerCall } from '../auth/authorizer.js';
import { RECIPE_ERRORS, signalOf } from './etcd-call-errors.js';
import { etcdUnary } from './etcd-unary.js';
import { lockPrefix } from './recipe-keys.js';
import { SessionExpired, type WaitingQueue } from './waiting-queue.js';

export interface EtcdLockDeps {
  readonly queue: WaitingQueue;
  /** The user the call was authorized as ('' while auth is off): its writes are checked as that user. */
  readonly checkedAs: (call: ServerCall) => string;
  readonly logger: Logger;
}

/**
 * v3lock.Lock as etcd's server runs it (concurrency.Mutex over the lease the client gives):
 * the caller's key `<name>/<lease hex>` waits for every key under `<name>/` created before
 * it to be deleted; Lock answers with that key, which Unlock deletes. The lease is not kept
 * alive here (etcd orphans the session too): the client keeps it alive, and when it expires
 * the key goes and the lock with it. Without a lease, etcd grants a 60 s one: so does this.
 */
export function etcdLockService(deps: EtcdLockDeps): LockServer {
  const { queue, logger } = deps;
  return {
    lock: etcdUnary(logger, 'Lock', async (req, call) => {
      const signal = signalOf(call);
      const checkedAs = deps.checkedAs(call);
      const lease = req.lease !== 0 ? req.lease : await queue.grantSessionLease();
      const prefix = lockPrefix(req.name);
      const mine = await queue.join(prefix, lease, Buffer.alloc(0), checkedAs, false);
      try {
        const header = await queue.waitTurn(prefix, mine, signal);
        return { header, key: mine.key };
      } catch (err) {
        if (err instanceof SessionExpired) throw RECIPE_ERRORS.sessionExpired;
        // Mutex.Lock releases its key when the wait fails (cancel, deadline).
        await queue.delete(mine.key, checkedAs).catch((cleanup: unknown) => logger.warn({ err: cleanup }, 'could not release a lock key'));
        throw err;
      }
    }),
    unlock: etcdUnary(logger, 'Unlock', async (req, call) => ({ header: await queue.delete(req.key, deps.checkedAs(call)) })),
  };
}
