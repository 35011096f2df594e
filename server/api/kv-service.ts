import type { Logger } from 'pino';
import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type {
  CompactResponse,
  DeleteRangeResponse,
  KVServiceServer,
  PutResponse,
  RangeResponse,
  TxnResponse,
} from '../../gen/ts/cairn/v1/kv.js';
import type { WritePath } from '../apply/write-path.js';
import type { HeaderFactory } from '../apply/applier.js';
import type { MvccStore } from '../mvcc/kv-store.js';
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
}

/** The KV service: thin handlers that validate, then read locally or submit a write. */
export function kvService(deps: KvServiceDeps): KVServiceServer {
  const { store, writes, validator, header, logger } = deps;

  async function write<T>(command: Command): Promise<T> {
    const outcome = await writes.submit(command);
    if (!outcome.ok) throw outcome.error;
    return outcome.response as T;
  }

  return {
    range: unary(logger, 'Range', async (req): Promise<RangeResponse> => {
      validator.range(req);
      // A serializable read with a staleness bound this member can't meet is served as a
      // linearizable one instead, which is never stale.
      const local = req.serializable && (req.maxStalenessMs <= 0 || deps.freshEnough(req.maxStalenessMs));
      if (!local) await deps.linearizableReadBarrier();
      const { revision, ...result } = await store.range(req);
      return { header: header(revision), ...result };
    }),
    put: unary(logger, 'Put', (req) => {
      validator.put(req);
      return write<PutResponse>({ request: { $case: 'put', put: req } });
    }),
    deleteRange: unary(logger, 'DeleteRange', (req) => {
      validator.deleteRange(req);
      return write<DeleteRangeResponse>({ request: { $case: 'deleteRange', deleteRange: req } });
    }),
    txn: unary(logger, 'Txn', (req) => {
      validator.txn(req);
      return write<TxnResponse>({ request: { $case: 'txn', txn: req } });
    }),
    compact: unary(logger, 'Compact', async (req) => {
      validator.compact(req);
      const response = await write<CompactResponse>({ request: { $case: 'compact', compact: req } });
      if (req.physical) await store.compactionSettled(req.revision);
      return response;
    }),
  };
}
