/**
 * etcd's KV messages to Cairn's and back. The two APIs carry the same fields with the same
 * meaning (Cairn's follow etcd v3); what differs is enum numbering (Cairn's enums start with
 * an UNSPECIFIED zero value, etcd's do not) and a few fields only one side has: etcd's
 * revision filters on Range (applied in range-filters.ts), Cairn's max_staleness_ms.
 */
import type * as cairn from '../../../gen/ts/cairn/v1/kv.js';
import type { KeyValue as CairnKeyValue } from '../../../gen/ts/cairn/v1/types.js';
import * as etcd from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import type { KeyValue } from '../../../gen/ts/etcd/api/mvccpb/kv.js';
import { toEtcdHeader } from './response-header.js';

/**
 * etcd's value of a zero-based enum as Cairn's (the same names, shifted by Cairn's
 * UNSPECIFIED). A value etcd does not define stays out of Cairn's range too, so that
 * Cairn's validation refuses it.
 */
const shifted = (value: number, last: number): number => (Number.isInteger(value) && value >= 0 && value <= last ? value + 1 : -1);

export function toCairnRange(r: etcd.RangeRequest): cairn.RangeRequest {
  return {
    key: r.key,
    rangeEnd: r.rangeEnd,
    // etcd reads a limit <= 0 as none and a revision <= 0 as the newest; Cairn wants exactly 0 for both.
    limit: Math.max(r.limit, 0),
    revision: Math.max(r.revision, 0),
    // The orders have the same numbers (etcd's NONE is Cairn's UNSPECIFIED); the targets are shifted.
    sortOrder: r.sortOrder as number,
    sortTarget: shifted(r.sortTarget, etcd.RangeRequest_SortTarget.VALUE),
    serializable: r.serializable,
    keysOnly: r.keysOnly,
    countOnly: r.countOnly,
    maxStalenessMs: 0,
  };
}

export function toCairnPut(r: etcd.PutRequest): cairn.PutRequest {
  return { key: r.key, value: r.value, lease: r.lease, prevKv: r.prevKv, ignoreValue: r.ignoreValue, ignoreLease: r.ignoreLease };
}

export function toCairnDelete(r: etcd.DeleteRangeRequest): cairn.DeleteRangeRequest {
  return { key: r.key, rangeEnd: r.rangeEnd, prevKv: r.prevKv };
}

export function toCairnCompare(c: etcd.Compare): cairn.Compare {
  return {
    result: shifted(c.result, etcd.Compare_CompareResult.NOT_EQUAL),
    target: shifted(c.target, etcd.Compare_CompareTarget.LEASE),
    key: c.key,
    // The same cases with the same names on both sides.
    targetUnion: c.targetUnion,
    rangeEnd: c.rangeEnd,
  };
}

export function toCairnTxn(r: etcd.TxnRequest): cairn.TxnRequest {
  return { compare: r.compare.map(toCairnCompare), success: r.success.map(toCairnOp), failure: r.failure.map(toCairnOp) };
}

function toCairnOp(op: etcd.RequestOp): cairn.RequestOp {
  const r = op.request;
  switch (r?.$case) {
    case undefined:
      return { request: undefined };
    case 'requestRange':
      return { request: { $case: 'requestRange', requestRange: toCairnRange(r.requestRange) } };
    case 'requestPut':
      return { request: { $case: 'requestPut', requestPut: toCairnPut(r.requestPut) } };
    case 'requestDeleteRange':
      return { request: { $case: 'requestDeleteRange', requestDeleteRange: toCairnDelete(r.requestDeleteRange) } };
    case 'requestTxn':
      return { request: { $case: 'requestTxn', requestTxn: toCairnTxn(r.requestTxn) } };
  }
}

export function toCairnCompact(r: etcd.CompactionRequest): cairn.CompactRequest {
  return { revision: r.revision, physical: r.physical };
}

/** mvccpb.KeyValue has Cairn's KeyValue's fields and numbers. */
export function toEtcdKv(kv: CairnKeyValue): KeyValue {
  return {
    key: kv.key,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease,
  };
}

export function toEtcdRangeResponse(r: cairn.RangeResponse): etcd.RangeResponse {
  return { header: toEtcdHeader(r.header), kvs: r.kvs.map(toEtcdKv), more: r.more, count: r.count };
}

export function toEtcdPutResponse(r: cairn.PutResponse): etcd.PutResponse {
  return { header: toEtcdHeader(r.header), prevKv: r.prevKv === undefined ? undefined : toEtcdKv(r.prevKv) };
}

export function toEtcdDeleteResponse(r: cairn.DeleteRangeResponse): etcd.DeleteRangeResponse {
  return { header: toEtcdHeader(r.header), deleted: r.deleted, prevKvs: r.prevKvs.map(toEtcdKv) };
}

/**
 * etcd's txn response. Sub-responses carry only a revision, as etcd's apply sets them: the
 * txn's revision for a put, the revision before the txn for a range or a delete until
 * something in the txn changed a key, and an empty header for a nested txn.
 */
export function toEtcdTxnResponse(r: cairn.TxnResponse): etcd.TxnResponse {
  const revision = r.header?.revision ?? 0;
  const before = changesAny(r.responses) ? revision - 1 : revision;
  let changed = false;
  const onlyRevision = (rev: number): etcd.ResponseHeader => ({ clusterId: 0, memberId: 0, revision: rev, raftTerm: 0 });
  const translate = (ops: cairn.ResponseOp[]): etcd.ResponseOp[] =>
    ops.map((op): etcd.ResponseOp => {
      const o = op.response;
      switch (o?.$case) {
        case undefined:
          return { response: undefined };
        case 'responseRange':
          return {
            response: {
              $case: 'responseRange',
              responseRange: { ...toEtcdRangeResponse(o.responseRange), header: onlyRevision(changed ? before + 1 : before) },
            },
          };
        case 'responsePut':
          changed = true;
          return {
            response: { $case: 'responsePut', responsePut: { ...toEtcdPutResponse(o.responsePut), header: onlyRevision(before + 1) } },
          };
        case 'responseDeleteRange':
          if (o.responseDeleteRange.deleted > 0) changed = true;
          return {
            response: {
              $case: 'responseDeleteRange',
              responseDeleteRange: { ...toEtcdDeleteResponse(o.responseDeleteRange), header: onlyRevision(changed ? before + 1 : before) },
            },
          };
        case 'responseTxn':
          return {
            response: {
              $case: 'responseTxn',
              responseTxn: { header: onlyRevision(0), succeeded: o.responseTxn.succeeded, responses: translate(o.responseTxn.responses) },
            },
          };
      }
    });
  return { header: toEtcdHeader(r.header), succeeded: r.succeeded, responses: translate(r.responses) };
}

/** Whether the txn changed a key: a put, or a delete that deleted something, at any depth. */
function changesAny(ops: cairn.ResponseOp[]): boolean {
  return ops.some((op) => {
    const o = op.response;
    if (o?.$case === 'responsePut') return true;
    if (o?.$case === 'responseDeleteRange') return o.responseDeleteRange.deleted > 0;
    if (o?.$case === 'responseTxn') return changesAny(o.responseTxn.responses);
    return false;
  });
}
