/**
 * Mutex: a lock with a fencing token, bound to a session.
 *
 *   const mutex = new Mutex(session, 'locks/report');
 *   const token = await mutex.lock();          // the create revision of the own key
 *   const r = await mutex.txn().then(Op.put('report/out', data)).commit();
 *   if (!r.succeeded) ...                      // the lock was lost: the write was refused
 *   await mutex.unlock();
 *
 * The holder is whoever owns the key under `<name>/` with the lowest create revision.
 * Holding the lock is a belief that can go stale (a paused process, a lost session); the
 * token is what makes it safe: a write guarded by it (`txn()`) is refused once the own
 * key is gone, and a later holder always has a higher token.
 */
import { status } from '@grpc/grpc-js';
import { CairnError, toCairnError } from './errors.js';
import { enqueue, queueHead, queueKey, waitForTurn, waitSignal } from './queue.js';
import type { Session } from './session.js';
import { Compare, Op, type Txn } from './txn.js';

export class Mutex {
  /** The key this session queues with: `<name>/<lease hex>`. */
  readonly key: string;
  private held: bigint | undefined;

  constructor(
    readonly session: Session,
    readonly name: string,
  ) {
    this.key = queueKey(session, name);
  }

  /** The fencing token while held (the create revision of the own key); else undefined. */
  get token(): bigint | undefined {
    return this.held;
  }

  /**
   * Waits for the lock and resolves with the fencing token. Rejects when `signal` aborts
   * or the session is lost first; the own key is then removed so it blocks nobody.
   */
  async lock(options: { signal?: AbortSignal } = {}): Promise<bigint> {
    const place = await enqueue(this.session, this.name, '');
    try {
      await waitForTurn(this.session, this.name, place, waitSignal(this.session, options.signal));
    } catch (err) {
      await this.removeKey();
      throw toCairnError(err);
    }
    this.held = place.revision;
    return place.revision;
  }

  /** Takes the lock only if it is free now: the token, or undefined when someone holds it. */
  async tryLock(): Promise<bigint | undefined> {
    const place = await enqueue(this.session, this.name, '');
    const head = await queueHead(this.session, this.name);
    if (head?.createRevision === place.revision) {
      this.held = place.revision;
      return place.revision;
    }
    await this.removeKey();
    return undefined;
  }

  /** Releases the lock (deletes the own key); a no-op when not held. */
  async unlock(): Promise<void> {
    this.held = undefined;
    await this.removeKey();
  }

  /**
   * A transaction guarded by the fencing token: its `then` ops run only while the own key
   * still exists with this token, i.e. while this session still holds the lock. Add ops
   * with `.then(...)`, more conditions with `.if(...)`.
   */
  txn(): Txn {
    const token = this.held;
    if (token === undefined) throw new CairnError({ code: status.FAILED_PRECONDITION, message: `${this.key} does not hold the lock` });
    return this.session.client.txn().if(Compare.createRevision(this.key, '==', token));
  }

  private async removeKey(): Promise<void> {
    // Deleting is safe to repeat; with a lost session the key is gone already.
    await this.session.client.txn().then(Op.delete(this.key)).commit({ retryUnsafe: true });
  }
}
