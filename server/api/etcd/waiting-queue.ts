import { randomInt } from 'node:crypto';
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
  type TxnResponse,
} from '../../../gen/ts/cairn/v1/kv.js';
import type { KeyValue, ResponseHeader } from '../../../gen/ts/cairn/v1/types.js';
import type { WritePath } from '../../apply/write-path.js';
import { CairnError, ErrorCode } from '../../errors.js';
import { prefixEnd } from '../../mvcc/key-range.js';
import type { MvccStore } from '../../mvcc/kv-store.js';
import type { RequestValidator } from '../validate.js';
import type { PrefixChanges } from './prefix-changes.js';

/** clientv3/concurrency's default session TTL, which etcd's Lock and Campaign grant when given no lease. */
export const DEFAULT_SESSION_TTL_SECONDS = 60;
const GRANT_ATTEMPTS = 3;

/** Thrown by waitTurn when the caller's own key vanished (its lease expired or was revoked). */
export class SessionExpired extends Error {}

export interface WaitingQueueDeps {
  readonly store: MvccStore;
  /** Client writes (through the space quota gate), as the KV service submits them. */
  readonly writes: WritePath;
  readonly validator: RequestValidator;
  readonly linearizableReadBarrier: () => Promise<void>;
  readonly changes: PrefixChanges;
  readonly header: (revision: number) => ResponseHeader;
}

/** A place in a queue: the caller's key under the prefix and the revision that created it. */
export interface QueuedKey {
  readonly key: Buffer;
  readonly createRevision: number;
  readonly header: ResponseHeader;
}

/**
 * clientv3/concurrency's recipe, which etcd's server-side Lock and Election run against the
 * server itself, here run against the member's own write path and store: each contender puts
 * `<prefix><lease id in hex>` with its lease, and the contender whose key has the lowest create
 * revision holds the lock (or leads). Same keys, same transactions, so these calls and
 * clients using concurrency.Mutex/Election directly queue together.
 *
 * Every write is a cairn.v1 Txn or DeleteRange through the log, checked as the caller
 * (checkedAs), exactly as if the client had sent it.
 */
export class WaitingQueue {
  constructor(private readonly deps: WaitingQueueDeps) {}

  /** Grants a lease of DEFAULT_SESSION_TTL_SECONDS, as NewSession does when given none. */
  async grantSessionLease(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const id = randomInt(1, 2 ** 48);
      try {
        await this.submit({ request: { $case: 'leaseGrant', leaseGrant: { id, ttl: DEFAULT_SESSION_TTL_SECONDS } }, checkedAs: '' });
        return id;
      } catch (err) {
        const clash = err instanceof CairnError && err.code === ErrorCode.ERROR_CODE_LEASE_EXISTS;
        if (!clash || attempt >= GRANT_ATTEMPTS) throw err;
      }
    }
  }

  /**
   * Mutex.tryAcquire / Election.Campaign's transaction: puts the caller's key unless it
   * exists (the same session queuing again keeps its place). A Campaign whose key holds
   * another value proclaims the new one, as Election.Campaign does.
   */
  async join(prefix: Buffer, lease: number, value: Buffer, checkedAs: string, proclaim: boolean): Promise<QueuedKey> {
    const key = Buffer.concat([prefix, Buffer.from(lease.toString(16))]);
    const txn: TxnRequest = {
      compare: [createRevisionIs(key, 0)],
      success: [putOp(key, value, lease)],
      failure: [rangeOp({ key })],
    };
    const res = await this.txn(txn, checkedAs);
    const header = res.header ?? this.deps.header(this.deps.store.currentRevision);
    if (res.succeeded) return { key, createRevision: header.revision, header };
    const existing = rangeKvs(res, 0)[0];
    if (existing === undefined) throw new CairnError(ErrorCode.ERROR_CODE_TIMEOUT, 'the queue key vanished while joining; retry');
    const queued = { key, createRevision: existing.createRevision, header };
    if (proclaim && !existing.value.equals(value)) {
      if (!(await this.putIfOwner(queued, lease, value, checkedAs))) {
        throw new CairnError(ErrorCode.ERROR_CODE_TIMEOUT, 'the queue key vanished while joining; retry');
      }
    }
    return queued;
  }

  /**
   * concurrency's waitDeletes, then Mutex.Lock's check that the caller's key survived: waits
   * until no key under prefix was created before the caller's. Throws SessionExpired if the
   * caller's key is deleted meanwhile (etcd notices only once its turn comes; here at once).
   */
  async waitTurn(prefix: Buffer, mine: QueuedKey, signal: AbortSignal): Promise<ResponseHeader> {
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const { changed } = this.deps.changes.next(prefix, signal);
      const { kvs, revision } = await this.readPrefix(prefix);
      const own = kvs.find((kv) => kv.key.equals(mine.key));
      if (own?.createRevision !== mine.createRevision) throw new SessionExpired('mutex: session is expired');
      if (!kvs.some((kv) => kv.createRevision < mine.createRevision)) return this.deps.header(revision);
      await changed;
    }
  }

  /** The key with the lowest create revision under prefix (the holder, the leader). */
  async first(prefix: Buffer): Promise<{ kv: KeyValue | undefined; header: ResponseHeader }> {
    const { kvs, revision } = await this.readPrefix(prefix);
    return { kv: kvs[0], header: this.deps.header(revision) };
  }

  /** Registers for the next change under prefix; await it after reading. */
  nextChange(prefix: Buffer, signal: AbortSignal): Promise<void> {
    return this.deps.changes.next(prefix, signal).changed;
  }

  /** Election.Proclaim: replaces the value while the key is still the one created at createRevision. */
  async putIfOwner(mine: QueuedKey, lease: number, value: Buffer, checkedAs: string): Promise<ResponseHeader | undefined> {
    const res = await this.txn(
      { compare: [createRevisionIs(mine.key, mine.createRevision)], success: [putOp(mine.key, value, lease)], failure: [] },
      checkedAs,
    );
    return res.succeeded ? (res.header ?? this.deps.header(this.deps.store.currentRevision)) : undefined;
  }

  /** Election.Resign: deletes the key if it is still the one created at createRevision. */
  async deleteIfOwner(key: Buffer, createRevision: number, checkedAs: string): Promise<ResponseHeader> {
    const res = await this.txn(
      {
        compare: [createRevisionIs(key, createRevision)],
        success: [{ request: { $case: 'requestDeleteRange', requestDeleteRange: { key, rangeEnd: Buffer.alloc(0), prevKv: false } } }],
        failure: [],
      },
      checkedAs,
    );
    return res.header ?? this.deps.header(this.deps.store.currentRevision);
  }

  /** Unlock: a plain delete of the key, as etcd's Unlock does. */
  async delete(key: Buffer, checkedAs: string): Promise<ResponseHeader> {
    this.deps.validator.deleteRange({ key, rangeEnd: Buffer.alloc(0), prevKv: false });
    const outcome = await this.deps.writes.submit({
      request: { $case: 'deleteRange', deleteRange: { key, rangeEnd: Buffer.alloc(0), prevKv: false } },
      checkedAs,
    });
    if (!outcome.ok) throw outcome.error;
    return outcome.response.header ?? this.deps.header(this.deps.store.currentRevision);
  }

  /** Every key under prefix, oldest first (linearizable: the queue is judged on current state). */
  private async readPrefix(prefix: Buffer): Promise<{ kvs: KeyValue[]; revision: number }> {
    await this.deps.linearizableReadBarrier();
    const req = rangeRequest({
      key: prefix,
      rangeEnd: prefixEnd(prefix),
      sortTarget: RangeRequest_SortTarget.SORT_TARGET_CREATE,
      sortOrder: RangeRequest_SortOrder.SORT_ORDER_ASCEND,
    });
    this.deps.validator.range(req);
    const { kvs, revision } = await this.deps.store.range(req);
    return { kvs, revision };
  }

  private async txn(txn: TxnRequest, checkedAs: string): Promise<TxnResponse> {
    this.deps.validator.txn(txn);
    return (await this.submit({ request: { $case: 'txn', txn }, checkedAs })) as TxnResponse;
  }

  private async submit(command: Parameters<WritePath['submit']>[0]): Promise<unknown> {
    const outcome = await this.deps.writes.submit(command);
    if (!outcome.ok) throw outcome.error;
    return outcome.response;
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('canceled');
}

function createRevisionIs(key: Buffer, revision: number): TxnRequest['compare'][number] {
  return {
    result: Compare_CompareResult.COMPARE_RESULT_EQUAL,
    target: Compare_CompareTarget.COMPARE_TARGET_CREATE,
    key,
    targetUnion: { $case: 'createRevision', createRevision: revision },
    rangeEnd: Buffer.alloc(0),
  };
}

function putOp(key: Buffer, value: Buffer, lease: number): RequestOp {
  return { request: { $case: 'requestPut', requestPut: { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } } };
}

function rangeRequest(fields: Partial<RangeRequest> & { key: Buffer }): RangeRequest {
  return {
    rangeEnd: Buffer.alloc(0),
    limit: 0,
    revision: 0,
    sortOrder: RangeRequest_SortOrder.SORT_ORDER_UNSPECIFIED,
    sortTarget: RangeRequest_SortTarget.SORT_TARGET_UNSPECIFIED,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    maxStalenessMs: 0,
    ...fields,
  };
}

function rangeOp(fields: Partial<RangeRequest> & { key: Buffer }): RequestOp {
  return { request: { $case: 'requestRange', requestRange: rangeRequest(fields) } };
}

function rangeKvs(res: TxnResponse, index: number): KeyValue[] {
  const op = res.responses[index]?.response;
  return op?.$case === 'responseRange' ? op.responseRange.kvs : [];
}
