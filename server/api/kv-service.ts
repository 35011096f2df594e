import type { Logger } from 'pino';
import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type {
  CompactRequest,
  CompactResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KVServiceServer,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from '../../gen/ts/cairn/v1/kv.js';
import type { WritePath } from '../apply/write-path.js';
import type { HeaderFactory } from '../apply/applier.js';
import type { MvccStore } from '../mvcc/kv-store.js';
import type { ServerCall } from './auth/authorizer.js';
import { unary } from './unary.js';
import type { RequestValidator } from './validate.js';

export interface KvServiceDeps {
  store: MvccStore;
  writes: WritePath;
  validator: RequestValidator;
  header: HeaderFactory;
  logger: Logger;
  /**
   * Resolves once this member may serve a linearizable read. On a single node every
   * acknowledged write is already visible, so it resolves at once; Raft will use ReadIndex.
   */
  linearizableReadBarrier: () => Promise<void>;
  /** Whether local state is within maxStalenessMs of the leader's (see RaftNode.freshEnough). */
  freshEnough: (maxStalenessMs: number) => boolean;
  /**
   * The user a call was authorized as ('' while authentication is off), written into the
   * command so that the applier checks the same permissions again at its place in the log.
   */
  checkedAs: (call: ServerCall) => string;
}

/** What a KV call does once decoded: shared by cairn.v1's KV service and etcd's (server/api/etcd/). */
export interface KvOperations {
  range(req: RangeRequest): Promise<RangeResponse>;
  put(req: PutRequest, call: ServerCall): Promise<PutResponse>;
  deleteRange(req: DeleteRangeRequest, call: ServerCall): Promise<DeleteRangeResponse>;
  txn(req: TxnRequest, call: ServerCall): Promise<TxnResponse>;
  compact(req: CompactRequest): Promise<CompactResponse>;
}

/** Validate, then read locally or submit a write: the one path of every KV request, whichever API it came by. */
export function kvOperations(deps: KvServiceDeps): KvOperations {
  const { store, writes, validator, header } = deps;

  async function write<T>(command: Command): Promise<T> {
    const outcome = await writes.submit(command);
    if (!outcome.ok) throw outcome.error;
    return outcome.response as T;
  }

  return {
    async range(req) {
      validator.range(req);
      // A serializable read with a staleness bound this member can't meet is served as a
      // linearizable one instead, which is never stale.
      const local = req.serializable && (req.maxStalenessMs <= 0 || deps.freshEnough(req.maxStalenessMs));
      if (!local) await deps.linearizableReadBarrier();
      const result = await store.range(req);
      // Built field by field: a rest and a spread here cost two copies of the result per read.
      return { header: header(result.revision), kvs: result.kvs, more: result.more, count: result.count };
    },
    put(req, call) {
      validator.put(req);
      return write<PutResponse>({ request: { $case: 'put', put: req }, checkedAs: deps.checkedAs(call) });
    },
    deleteRange(req, call) {
      validator.deleteRange(req);
      return write<DeleteRangeResponse>({ request: { $case: 'deleteRange', deleteRange: req }, checkedAs: deps.checkedAs(call) });
    },
    txn(req, call) {
      validator.txn(req);
      return write<TxnResponse>({ request: { $case: 'txn', txn: req }, checkedAs: deps.checkedAs(call) });
    },
    async compact(req) {
      validator.compact(req);
      // Root only, checked in front; a root that loses its role meanwhile still compacts (as etcd).
      const response = await write<CompactResponse>({ request: { $case: 'compact', compact: req }, checkedAs: '' });
      if (req.physical) await store.compactionSettled(req.revision);
      return response;
    },
  };
}

/** The KV service: thin handlers over kvOperations. */
export function kvService(deps: KvServiceDeps): KVServiceServer {
  const ops = kvOperations(deps);
  const { logger } = deps;
  return {
    range: unary(logger, 'Range', (req) => ops.range(req)),
    put: unary(logger, 'Put', (req, call) => ops.put(req, call)),
    deleteRange: unary(logger, 'DeleteRange', (req, call) => ops.deleteRange(req, call)),
    txn: unary(logger, 'Txn', (req, call) => ops.txn(req, call)),
    compact: unary(logger, 'Compact', (req) => ops.compact(req)),
  };
}
