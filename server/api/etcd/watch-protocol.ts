/**
 * etcd's watch wire (etcdserverpb.Watch) on Cairn's watch streams (watch-stream.ts: the
 * same hub, bounded queues and flow control as cairn.v1's watches).
 *
 * etcd's WatchRequest and WatchResponse have cairn.v1's field numbers, and mvccpb.KeyValue
 * and etcd's ResponseHeader have Cairn's; what differs: enums (mvccpb.Event PUT is 0,
 * DELETE 1; filters NOPUT 0, NODELETE 1), ids the server picks start at 0, a refused create
 * is answered with watch id -1, and errors are reported as etcd reports them (a compacted
 * start revision: canceled with compact_revision and no reason; a client's cancel: no
 * reason; a refused create: etcd's message). Requests are translated as they are decoded
 * (ETCD_WATCH_SERVICE_DEFINITION), so the stream itself reads cairn.v1 requests.
 */
import type { ServiceError } from '@grpc/grpc-js';
import * as cairn from '../../../gen/ts/cairn/v1/watch.js';
import { Event_EventType as CairnEventType } from '../../../gen/ts/cairn/v1/types.js';
import * as etcd from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { Event } from '../../../gen/ts/etcd/api/mvccpb/kv.js';
import { ErrorCode, type CairnError } from '../../errors.js';
import { revisionEncoder, type WatchProtocol } from '../watch-encoding.js';
import { toEtcdKv } from './kv-translation.js';
import { ETCD_ERRORS, etcdStatusOf, toEtcdServiceError } from './rpctypes.js';

/** clientv3.InvalidWatchID: the id of a create etcd refused, and of stream-wide progress. */
const INVALID_WATCH_ID = -1;

/** Reasons etcd's watch streams give that are not statuses of a call (etcd's mvcc errors). */
const DUPLICATE_WATCH_ID_REASON = 'mvcc: duplicate watch ID provided on the WatchStream';
const EMPTY_RANGE_REASON = 'mvcc: watcher range is empty';
/** What etcd allows a message beyond --max-request-bytes (config.go grpcOverheadBytes); it fragments past the sum. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/**
 * etcd's own refusals of a create (v3rpc/watch.go recvLoop, mvcc/watcher.go Watch): a
 * negative start revision, before any other check, is answered as a compacted one (the
 * message of ErrCompacted as the reason, no compact_revision); a range with key >=
 * range_end, once access is granted, selects nothing and is refused. etcd's range_end
 * "\0" (every key >= key) and empty (the key alone) are not ranges here.
 */
function refuseCreate(req: cairn.WatchCreateRequest, at: 'request' | 'range'): Partial<cairn.WatchResponse> | undefined {
  if (at === 'request' && req.startRevision < 0) return { canceled: true, cancelReason: ETCD_ERRORS.compacted.message };
  const bounded = req.rangeEnd.length > 0 && !(req.rangeEnd.length === 1 && req.rangeEnd[0] === 0);
  if (at === 'range' && bounded && Buffer.compare(req.key, req.rangeEnd) >= 0) return { canceled: true, cancelReason: EMPTY_RANGE_REASON };
  return undefined;
}

export const ETCD_WATCH_PROTOCOL: WatchProtocol = {
  firstWatchId: 0,
  encodeRevision: revisionEncoder((e) =>
    Event.encode({
      type: e.type === CairnEventType.EVENT_TYPE_DELETE ? 1 : 0,
      kv: e.kv === undefined ? undefined : toEtcdKv(e.kv),
      prevKv: e.prevKv === undefined ? undefined : toEtcdKv(e.prevKv),
    }).finish(),
  ),
  encodeResponse: (r) => {
    const bytes = etcd.WatchResponse.encode({
      header: r.header,
      watchId: r.watchId,
      created: r.created,
      canceled: r.canceled,
      compactRevision: r.compactRevision,
      cancelReason: r.cancelReason,
      fragment: r.fragment,
      events: [],
    }).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
  canceledBy: (err: CairnError) => {
    // etcd cancels a watch whose history was compacted with the revision and no reason.
    if (err.code === ErrorCode.ERROR_CODE_COMPACTED) return { canceled: true, compactRevision: err.compactRevision };
    if (err.code === ErrorCode.ERROR_CODE_DUPLICATE_WATCH_ID) return { canceled: true, cancelReason: DUPLICATE_WATCH_ID_REASON };
    return { canceled: true, cancelReason: etcdStatusOf(err).message };
  },
  // etcd answers -1 and takes no id (the next watch the server picks still gets the next one).
  refusedWatchId: () => INVALID_WATCH_ID,
  fragmentBytes: (maxRequestBytes) => maxRequestBytes + GRPC_OVERHEAD_BYTES,
  clientCancelReason: '',
  refuseCreate,
  toError: (err: unknown): Partial<ServiceError> => toEtcdServiceError(err),
};

/** etcd's filter numbers as Cairn's; etcd ignores a filter it does not know, so this drops it. */
function toCairnFilters(filters: readonly etcd.WatchCreateRequest_FilterType[]): cairn.WatchCreateRequest_FilterType[] {
  const out: cairn.WatchCreateRequest_FilterType[] = [];
  for (const f of filters) {
    if (f === etcd.WatchCreateRequest_FilterType.NOPUT) out.push(cairn.WatchCreateRequest_FilterType.FILTER_TYPE_NOPUT);
    if (f === etcd.WatchCreateRequest_FilterType.NODELETE) out.push(cairn.WatchCreateRequest_FilterType.FILTER_TYPE_NODELETE);
  }
  return out;
}

/** An etcd WatchRequest as the cairn.v1 request the stream handles. */
export function toCairnWatchRequest(r: etcd.WatchRequest): cairn.WatchRequest {
  const u = r.requestUnion;
  switch (u?.$case) {
    case undefined:
      return { request: undefined };
    case 'createRequest': {
      const c = u.createRequest;
      return {
        request: {
          $case: 'createRequest',
          createRequest: {
            // etcd: an empty key is "\0", the smallest key (watch.go's recvLoop).
            key: c.key.length === 0 ? Buffer.from([0]) : c.key,
            rangeEnd: c.rangeEnd,
            startRevision: c.startRevision,
            progressNotify: c.progressNotify,
            filters: toCairnFilters(c.filters),
            prevKv: c.prevKv,
            watchId: c.watchId,
            fragment: c.fragment,
          },
        },
      };
    }
    case 'cancelRequest':
      return { request: { $case: 'cancelRequest', cancelRequest: { watchId: u.cancelRequest.watchId } } };
    case 'progressRequest':
      return { request: { $case: 'progressRequest', progressRequest: {} } };
  }
}

/**
 * etcd's Watch service definition: requests decoded as etcd's and translated to cairn.v1's,
 * responses written as the stream encoded them (Buffers, through ETCD_WATCH_PROTOCOL).
 */
export const ETCD_WATCH_SERVICE_DEFINITION = {
  watch: {
    ...etcd.WatchService.watch,
    requestDeserialize: (value: Buffer): cairn.WatchRequest => toCairnWatchRequest(etcd.WatchRequest.decode(value)),
    responseSerialize: (value: Buffer): Buffer => value,
  },
} as const;
