/** Builds wire requests from the SDK's options; shared by the KV calls and the txn builder. */
import { DeleteRangeRequest, PutRequest, RangeRequest, RangeRequest_SortOrder, RangeRequest_SortTarget } from '../gen/cairn/v1/kv.js';
import { selectKeys, toBuffer, type Bytes, type KeySelector } from './bytes.js';
import { toBigInt, type Int64 } from './int64.js';

/**
 * - 'linearizable' (default): confirmed with the leader; never stale.
 * - 'stale': served from the local state of the member in use, without a quorum round;
 *   may lag behind, but answers even when that member is cut off from the others.
 */
export type Consistency = 'linearizable' | 'stale';

export interface ReadOptions {
  consistency?: Consistency;
  /**
   * Bounded staleness: a stale read is served locally only if the member heard from the
   * leader within this many ms; otherwise the server reads linearizably. Implies 'stale'.
   */
  maxStalenessMs?: number;
  /** Read the store as of this revision (0 or unset: latest). */
  revision?: Int64;
  /** At most this many keys (0 or unset: no limit). */
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  sortBy?: 'key' | 'version' | 'create' | 'mod' | 'value';
  sortOrder?: 'ascend' | 'descend';
}

export interface PutOptions {
  /** Return the previous version of the key. */
  prevKv?: boolean;
  /** Attach the key to this lease (it is deleted when the lease ends); 0 or unset: no lease. */
  lease?: Int64;
}

export interface DeleteOptions {
  /** Return the deleted keys. */
  prevKv?: boolean;
}

const SORT_TARGET = {
  key: RangeRequest_SortTarget.SORT_TARGET_KEY,
  version: RangeRequest_SortTarget.SORT_TARGET_VERSION,
  create: RangeRequest_SortTarget.SORT_TARGET_CREATE,
  mod: RangeRequest_SortTarget.SORT_TARGET_MOD,
  value: RangeRequest_SortTarget.SORT_TARGET_VALUE,
} as const;

export function rangeRequest(sel: KeySelector, o: ReadOptions = {}): RangeRequest {
  const stale = o.consistency === 'stale' || (o.consistency === undefined && o.maxStalenessMs !== undefined);
  return RangeRequest.fromPartial({
    ...selectKeys(sel),
    serializable: stale,
    maxStalenessMs: stale ? (o.maxStalenessMs ?? 0) : 0,
    revision: toBigInt(o.revision ?? 0n, 'revision'),
    limit: BigInt(o.limit ?? 0),
    keysOnly: o.keysOnly ?? false,
    countOnly: o.countOnly ?? false,
    sortTarget: o.sortBy === undefined ? RangeRequest_SortTarget.SORT_TARGET_UNSPECIFIED : SORT_TARGET[o.sortBy],
    sortOrder:
      o.sortOrder === undefined
        ? RangeRequest_SortOrder.SORT_ORDER_UNSPECIFIED
        : o.sortOrder === 'ascend'
          ? RangeRequest_SortOrder.SORT_ORDER_ASCEND
          : RangeRequest_SortOrder.SORT_ORDER_DESCEND,
  });
}

export function putRequest(key: Bytes, value: Bytes, o: PutOptions = {}): PutRequest {
  return PutRequest.fromPartial({
    key: toBuffer(key),
    value: toBuffer(value),
    prevKv: o.prevKv ?? false,
    lease: toBigInt(o.lease ?? 0n, 'lease'),
  });
}

export function deleteRequest(sel: KeySelector, o: DeleteOptions = {}): DeleteRangeRequest {
  return DeleteRangeRequest.fromPartial({ ...selectKeys(sel), prevKv: o.prevKv ?? false });
}
