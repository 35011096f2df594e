/**
 * Election: leader election bound to a session.
 *
 *   const election = new Election(session, 'elections/scheduler');
 *   await election.campaign('host-a');         // resolves once this session leads
 *   await election.proclaim('host-a:v2');      // changes the value while leading
 *   await election.resign();
 *
 *   for await (const leader of election.observe()) console.log(leader.valueString);
 *
 * Campaigners queue like mutex waiters (`<name>/<lease hex>`, the value in the key); the
 * leader is the key with the lowest create revision. Leadership ends with resign(), or
 * when the session is lost (its key is deleted with its lease).
 */
import { status } from '@grpc/grpc-js';
import type { Bytes } from './bytes.js';
import { CairnError, toCairnError } from './errors.js';
import type { KeyValue } from './kv-types.js';
import { followPrefix, type PrefixReader } from './prefix-follower.js';
import { enqueue, queueHead, queueKey, waitForTurn, waitSignal } from './queue.js';
import type { Session } from './session.js';
import { Compare, Op } from './txn.js';

export class Election {
  /** The key this session campaigns with: `<name>/<lease hex>`. */
  readonly key: string;
  private place: bigint | undefined;

  constructor(
    readonly session: Session,
    readonly name: string,
  ) {
    this.key = queueKey(session, name);
  }

  /** The create revision of the own key while campaigning or leading; else undefined. */
  get revision(): bigint | undefined {
    return this.place;
  }

  /**
   * Resolves once this session is the leader, with `value` published as the leader's
   * value. Rejects when `signal` aborts or the session is lost first (the own key is then
   * removed).
   */
  async campaign(value: Bytes, options: { signal?: AbortSignal } = {}): Promise<void> {
    const place = await enqueue(this.session, this.name, value);
    this.place = place.revision;
    try {
      // Campaigning again with the key still there: publish the new value.
      if (place.existing !== undefined && !place.existing.value.equals(Buffer.from(value))) await this.proclaim(value);
      await waitForTurn(this.session, this.name, place, waitSignal(this.session, options.signal));
    } catch (err) {
      this.place = undefined;
      await this.deleteKey();
      throw toCairnError(err);
    }
  }

  /** Publishes a new value; fails with FAILED_PRECONDITION when this session does not lead. */
  async proclaim(value: Bytes): Promise<void> {
    const place = this.place;
    if (place === undefined) throw notLeader(this.key);
    const r = await this.session.client
      .txn()
      .if(Compare.createRevision(this.key, '==', place))
      .then(Op.put(this.key, value, { lease: this.session.leaseId }))
      .commit({ retryUnsafe: true });
    if (!r.succeeded) {
      this.place = undefined;
      throw notLeader(this.key);
    }
  }

  /** Gives up leadership (or the campaign); a no-op when neither. */
  async resign(): Promise<void> {
    if (this.place === undefined) return;
    const place = this.place;
    this.place = undefined;
    await this.session.client
      .txn()
      .if(Compare.createRevision(this.key, '==', place))
      .then(Op.delete(this.key))
      .commit({ retryUnsafe: true });
  }

  /** The current leader's key-value (value = its proclaimed value), or undefined. */
  leader(): Promise<KeyValue | undefined> {
    return queueHead(this.session, this.name);
  }

  /**
   * The leader's key-value each time it changes (a new leader or a new value), starting
   * with the current one; nothing while there is no leader. Ends when `signal` aborts.
   */
  observe(options: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue, void, undefined> {
    return observeLeader(this.session.client, this.name, options);
  }

  private async deleteKey(): Promise<void> {
    await this.session.client.txn().then(Op.delete(this.key)).commit({ retryUnsafe: true });
  }
}

function notLeader(key: string): CairnError {
  return new CairnError({ code: status.FAILED_PRECONDITION, message: `${key} is not the leader` });
}

/**
 * The leader of election `name` each time it changes (a new leader or a new value),
 * starting with the current one; nothing while there is no leader. Needs no session:
 * `observeLeader(client, name)`. Ends when `signal` aborts.
 */
export async function* observeLeader(
  client: PrefixReader,
  name: string,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<KeyValue, void, undefined> {
  let last: KeyValue | undefined;
  for await (const state of followPrefix(client, `${name}/`, options.signal)) {
    let head: KeyValue | undefined;
    for (const kv of state.keys.values()) if (head === undefined || kv.createRevision < head.createRevision) head = kv;
    if (head === undefined) continue;
    if (last !== undefined && last.key.equals(head.key) && last.modRevision === head.modRevision) continue;
    last = head;
    yield head;
  }
}
