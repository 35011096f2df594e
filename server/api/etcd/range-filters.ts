/**
 * etcd's revision filters on Range (min/max mod_revision, min/max create_revision), which
 * cairn.v1 does not have. As etcd does (etcdserver/txn/range.go): the range is read without
 * its limit, the filters drop keys, then the limit applies; `count` stays the number of keys
 * in the range before filtering, and `more` says whether the limit cut filtered keys off.
 */
import type * as cairn from '../../../gen/ts/cairn/v1/kv.js';
import type { KeyValue } from '../../../gen/ts/cairn/v1/types.js';
import type * as etcd from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';

export function hasRevisionFilters(r: etcd.RangeRequest): boolean {
  return r.minModRevision !== 0 || r.maxModRevision !== 0 || r.minCreateRevision !== 0 || r.maxCreateRevision !== 0;
}

/** The Cairn request to read for a filtered range: the same, without the limit. */
export function unlimited(r: cairn.RangeRequest): cairn.RangeRequest {
  return { ...r, limit: 0 };
}

/** The response etcd gives for the filtered range, from the unlimited read. */
export function applyRevisionFilters(r: etcd.RangeRequest, read: cairn.RangeResponse): cairn.RangeResponse {
  const keep = (kv: KeyValue): boolean =>
    !(r.maxModRevision !== 0 && kv.modRevision > r.maxModRevision) &&
    !(r.minModRevision !== 0 && kv.modRevision < r.minModRevision) &&
    !(r.maxCreateRevision !== 0 && kv.createRevision > r.maxCreateRevision) &&
    !(r.minCreateRevision !== 0 && kv.createRevision < r.minCreateRevision);
  const kept = read.kvs.filter(keep);
  const more = r.limit > 0 && kept.length > r.limit;
  return { ...read, kvs: more ? kept.slice(0, r.limit) : kept, more };
}
