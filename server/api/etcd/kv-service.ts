import type { Logger } from 'pino';
import type { KVServer } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import type { Limits } from '../../config.js';
import type { KvOperations } from '../kv-service.js';
import { unary } from '../unary.js';
import {
  toCairnCompact,
  toCairnDelete,
  toCairnPut,
  toCairnRange,
  toCairnTxn,
  toEtcdDeleteResponse,
  toEtcdPutResponse,
  toEtcdRangeResponse,
  toEtcdTxnResponse,
} from './kv-translation.js';
import { applyRevisionFilters, hasRevisionFilters, unlimited } from './range-filters.js';
import { etcdRangeStream } from './range-stream.js';
import { checkDelete, checkPut, checkRange, checkTxn } from './request-checks.js';
import { toEtcdHeader } from './response-header.js';
import { toEtcdServiceError } from './rpctypes.js';

/**
 * etcd's KV service (etcdserverpb.KV): etcd's checks, then the same operations as cairn.v1's
 * KV service (kvOperations: validation, read barrier, the Raft log, the applier's checks),
 * answered in etcd's messages and with etcd's errors.
 */
export function etcdKvService(ops: KvOperations, limits: Limits, logger: Logger): KVServer {
  const call = <Req, Res>(method: string, handler: Parameters<typeof unary<Req, Res>>[2]) =>
    unary(logger, method, handler, toEtcdServiceError);
  return {
    range: call('etcd Range', async (req) => {
      checkRange(req);
      if (req.countOnly || !hasRevisionFilters(req)) return toEtcdRangeResponse(await ops.range(toCairnRange(req)));
      return toEtcdRangeResponse(applyRevisionFilters(req, await ops.range(unlimited(toCairnRange(req)))));
    }),
    // New in etcd 3.7 (etcdctl get --stream): Range in pages, range-stream.ts.
    rangeStream: etcdRangeStream(ops, limits.maxRequestBytes, logger),
    put: call('etcd Put', async (req, c) => {
      checkPut(req);
      return toEtcdPutResponse(await ops.put(toCairnPut(req), c));
    }),
    deleteRange: call('etcd DeleteRange', async (req, c) => {
      checkDelete(req);
      return toEtcdDeleteResponse(await ops.deleteRange(toCairnDelete(req), c));
    }),
    txn: call('etcd Txn', async (req, c) => {
      checkTxn(req, limits.maxTxnOps);
      return toEtcdTxnResponse(await ops.txn(toCairnTxn(req), c));
    }),
    compact: call('etcd Compact', async (req) => {
      const { header } = await ops.compact(toCairnCompact(req));
      return { header: toEtcdHeader(header) };
    }),
  };
}
