/** The SDK's view of the wire types: plain objects, bytes as Buffer, text accessors. */
import type { KeyValue as PbKeyValue, ResponseHeader } from '../gen/cairn/v1/types.js';
import type { DeleteRangeResponse, PutResponse, RangeResponse } from '../gen/cairn/v1/kv.js';

export class KeyValue {
  constructor(
    readonly key: Buffer,
    readonly value: Buffer,
    /** Revision of the put that created the key in its current generation. */
    readonly createRevision: bigint,
    /** Revision of the last change to the key. */
    readonly modRevision: bigint,
    /** Puts to the key in its current generation, starting at 1. */
    readonly version: bigint,
    /** The lease the key is attached to; 0n: none. */
    readonly lease: bigint,
  ) {}

  static from(kv: PbKeyValue): KeyValue {
    return new KeyValue(kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease);
  }

  /** The key as UTF-8 text. */
  get keyString(): string {
    return this.key.toString('utf8');
  }

  /** The value as UTF-8 text. */
  get valueString(): string {
    return this.value.toString('utf8');
  }
}

/** Which member answered, and the store revision it answered at. */
export interface Header {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}

export function header(h: ResponseHeader | undefined): Header {
  return { clusterId: h?.clusterId ?? 0n, memberId: h?.memberId ?? 0n, revision: h?.revision ?? 0n, raftTerm: h?.raftTerm ?? 0n };
}

export interface RangeResult {
  header: Header;
  /** The revision the read observed. */
  revision: bigint;
  kvs: KeyValue[];
  /** Keys in the range, regardless of limit. */
  count: number;
  /** True when limit cut the result short. */
  more: boolean;
}

export interface PutResult {
  header: Header;
  /** The revision the put created. */
  revision: bigint;
  /** The previous version, when asked for with prevKv and the key existed. */
  prevKv: KeyValue | undefined;
}

export interface DeleteResult {
  header: Header;
  /** The revision the delete created (unchanged when nothing was deleted). */
  revision: bigint;
  deleted: number;
  /** The deleted keys, when asked for with prevKv. */
  prevKvs: KeyValue[];
}

export function rangeResult(res: RangeResponse): RangeResult {
  const h = header(res.header);
  return { header: h, revision: h.revision, kvs: res.kvs.map((kv) => KeyValue.from(kv)), count: Number(res.count), more: res.more };
}

export function putResult(res: PutResponse): PutResult {
  const h = header(res.header);
  return { header: h, revision: h.revision, prevKv: res.prevKv === undefined ? undefined : KeyValue.from(res.prevKv) };
}

export function deleteResult(res: DeleteRangeResponse): DeleteResult {
  const h = header(res.header);
  return { header: h, revision: h.revision, deleted: Number(res.deleted), prevKvs: res.prevKvs.map((kv) => KeyValue.from(kv)) };
}
