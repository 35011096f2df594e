/**
 * etcd's KV.RangeStream (new in etcd 3.7): a Range answered in chunks, read page by page
 * through the same range path as Range (kvOperations: validation, read barrier, the MVCC
 * store), so a large range never sits whole in memory. As etcd 3.7.3 does
 * (etcdserver/v3_server.go rangeStream, api/v3rpc/key.go):
 * - etcd's Range checks, then UNIMPLEMENTED for a sort other than by key ascending and for
 *   revision filters;
 * - count_only: one chunk, the count and the header;
 * - otherwise pages from 10 keys, doubled while a chunk is under half of
 *   --max-request-bytes and halved while over twice it, all read at the revision of the
 *   first (the newest then, unless the request names one), the next from just after the
 *   last key sent; the linearizable wait, when asked for, only before the first;
 * - header, more and count only on the last chunk: more and count as Range gives them for
 *   the whole request (count: every key in the range, the limit aside).
 * The next page is read only once the transport has taken the previous one (its write
 * callback), so a slow client holds one page of keys and values in the member's memory,
 * not the range. (Each page's read walks the in-memory index over the rest of the range
 * for its count, as Range does and as etcd's does; that holds no values.)
 */
import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type * as cairn from '../../../gen/ts/cairn/v1/kv.js';
import * as etcd from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import type { KvOperations } from '../kv-service.js';
import { toCairnRange, toEtcdRangeResponse } from './kv-translation.js';
import { hasRevisionFilters } from './range-filters.js';
import { checkRange } from './request-checks.js';
import { EtcdStatusError, toEtcdServiceError } from './rpctypes.js';

/** etcd's initialStreamChunkLimit. */
const FIRST_PAGE_KEYS = 10;
/** Bytes counted per key on top of its key and value, to size a page as its encoding. */
const KV_OVERHEAD_BYTES = 32;

type RangeStreamCall = ServerWritableStream<etcd.RangeRequest, etcd.RangeStreamResponse>;

export function etcdRangeStream(ops: KvOperations, maxRequestBytes: number, logger: Logger): (call: RangeStreamCall) => void {
  return (call) => {
    streamRange(ops, maxRequestBytes, call).then(
      () => call.end(),
      (err: unknown) => {
        const serviceError = toEtcdServiceError(err);
        if (serviceError.code === status.INTERNAL) logger.error({ err, method: 'etcd RangeStream' }, 'request failed');
        call.emit('error', serviceError);
      },
    );
  };
}

async function streamRange(ops: KvOperations, maxRequestBytes: number, call: RangeStreamCall): Promise<void> {
  const req = call.request;
  checkRangeStream(req);
  const base = toCairnRange(req);
  if (req.countOnly) {
    const read = toEtcdRangeResponse(await ops.range(base));
    return send(call, { header: read.header, kvs: [], more: false, count: read.count });
  }
  const totalLimit = req.limit > 0 ? req.limit : Infinity;
  let page: cairn.RangeRequest = { ...base, limit: Math.min(FIRST_PAGE_KEYS, totalLimit) };
  let headerRevision: number | undefined;
  let sent = 0;
  for (;;) {
    if (call.cancelled) return;
    const read = await ops.range(page);
    if (headerRevision === undefined) {
      // Pinned: later pages read at the first one's revision, serializable (the first waited if asked).
      headerRevision = read.header!.revision;
      page = { ...page, revision: page.revision > 0 ? page.revision : headerRevision, serializable: true };
    }
    sent += read.kvs.length;
    const done = !read.more || sent >= totalLimit;
    const out = toEtcdRangeResponse(read);
    if (!done) {
      await send(call, { header: undefined, kvs: out.kvs, more: false, count: 0 });
    } else {
      // read.count is the keys from this page's first on; those of earlier pages were sent.
      const count = sent - read.kvs.length + read.count;
      return send(call, { header: { ...out.header!, revision: headerRevision }, kvs: out.kvs, more: read.more, count });
    }
    const last = read.kvs[read.kvs.length - 1]!.key;
    page = {
      ...page,
      key: Buffer.concat([last, Buffer.from([0])]),
      limit: Math.min(nextPageKeys(page.limit, pageBytes(read), maxRequestBytes), totalLimit - sent),
    };
  }
}

/** etcd's checkRangeStreamRequest: Range's checks, then what RangeStream does not do. */
function checkRangeStream(r: etcd.RangeRequest): void {
  checkRange(r);
  const keyOrder =
    r.sortOrder === etcd.RangeRequest_SortOrder.NONE ||
    (r.sortTarget === etcd.RangeRequest_SortTarget.KEY && r.sortOrder === etcd.RangeRequest_SortOrder.ASCEND);
  if (!keyOrder) throw new EtcdStatusError({ code: status.UNIMPLEMENTED, message: 'RangeStream does not support custom sort orders' });
  if (hasRevisionFilters(r))
    throw new EtcdStatusError({ code: status.UNIMPLEMENTED, message: 'RangeStream does not support revision filters' });
}

/** etcd's adjustChunkLimit: double below half the target, halve above twice it, at least 1. */
function nextPageKeys(keys: number, bytes: number, targetBytes: number): number {
  if (bytes < targetBytes / 2) keys *= 2;
  else if (bytes > targetBytes * 2) keys = Math.floor(keys / 2);
  return Math.max(keys, 1);
}

function pageBytes(read: cairn.RangeResponse): number {
  let bytes = 0;
  for (const kv of read.kvs) bytes += KV_OVERHEAD_BYTES + kv.key.length + kv.value.length;
  return bytes;
}

/**
 * Writes one chunk and resolves once the transport has taken it, or once the client has
 * gone (the caller then sees `call.cancelled`): a canceled call may never confirm a write.
 */
function send(call: RangeStreamCall, rangeResponse: etcd.RangeResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const gone = (): void => resolve();
    call.once('cancelled', gone);
    call.write({ rangeResponse }, (err?: Error | null) => {
      call.off('cancelled', gone);
      if (err) reject(err);
      else resolve();
    });
  });
}
