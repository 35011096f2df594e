/**
 * Transactions: `client.txn().if(...compares).then(...ops).else(...ops).commit()`.
 *
 *   await client.txn()
 *     .if(Compare.value('cfg', '==', 'v1'), Compare.version('lock', '==', 0))
 *     .then(Op.put('cfg', 'v2'))
 *     .else(Op.get('cfg'))
 *     .commit();
 */
import {
  Compare as PbCompare,
  Compare_CompareResult,
  Compare_CompareTarget,
  RequestOp,
  TxnRequest,
  type ResponseOp,
  type TxnResponse,
} from '../gen/cairn/v1/kv.js';
import { toBuffer, type Bytes, type KeySelector } from './bytes.js';
import { toBigInt, type Int64 } from './int64.js';
import {
  deleteResult,
  header,
  putResult,
  rangeResult,
  type DeleteResult,
  type Header,
  type PutResult,
  type RangeResult,
} from './kv-types.js';
import { deleteRequest, putRequest, rangeRequest, type DeleteOptions, type PutOptions, type ReadOptions } from './requests.js';

export type Relation = '==' | '!=' | '>' | '<';

const RESULT: Record<Relation, Compare_CompareResult> = {
  '==': Compare_CompareResult.COMPARE_RESULT_EQUAL,
  '!=': Compare_CompareResult.COMPARE_RESULT_NOT_EQUAL,
  '>': Compare_CompareResult.COMPARE_RESULT_GREATER,
  '<': Compare_CompareResult.COMPARE_RESULT_LESS,
};

/** One condition of a transaction. A missing key has version, create and mod 0 and no value. */
export class Compare {
  private constructor(readonly pb: PbCompare) {}

  static value(key: Bytes, relation: Relation, value: Bytes): Compare {
    return new Compare(
      PbCompare.fromPartial({
        key: toBuffer(key),
        result: RESULT[relation],
        target: Compare_CompareTarget.COMPARE_TARGET_VALUE,
        targetUnion: { $case: 'value', value: toBuffer(value) },
      }),
    );
  }

  static version(key: Bytes, relation: Relation, version: Int64): Compare {
    return new Compare(
      PbCompare.fromPartial({
        key: toBuffer(key),
        result: RESULT[relation],
        target: Compare_CompareTarget.COMPARE_TARGET_VERSION,
        targetUnion: { $case: 'version', version: toBigInt(version, 'version') },
      }),
    );
  }

  static createRevision(key: Bytes, relation: Relation, revision: Int64): Compare {
    return new Compare(
      PbCompare.fromPartial({
        key: toBuffer(key),
        result: RESULT[relation],
        target: Compare_CompareTarget.COMPARE_TARGET_CREATE,
        targetUnion: { $case: 'createRevision', createRevision: toBigInt(revision, 'revision') },
      }),
    );
  }

  static modRevision(key: Bytes, relation: Relation, revision: Int64): Compare {
    return new Compare(
      PbCompare.fromPartial({
        key: toBuffer(key),
        result: RESULT[relation],
        target: Compare_CompareTarget.COMPARE_TARGET_MOD,
        targetUnion: { $case: 'modRevision', modRevision: toBigInt(revision, 'revision') },
      }),
    );
  }
}

/** One operation of a transaction. */
export class Op {
  private constructor(
    readonly pb: RequestOp,
    /** Whether the op writes; a transaction of reads only is retried like a read. */
    readonly writes: boolean,
  ) {}

  static get(sel: KeySelector, options: Omit<ReadOptions, 'consistency' | 'maxStalenessMs'> = {}): Op {
    return new Op(RequestOp.fromPartial({ request: { $case: 'requestRange', requestRange: rangeRequest(sel, options) } }), false);
  }

  static put(key: Bytes, value: Bytes, options: PutOptions = {}): Op {
    return new Op(RequestOp.fromPartial({ request: { $case: 'requestPut', requestPut: putRequest(key, value, options) } }), true);
  }

  static delete(sel: KeySelector, options: DeleteOptions = {}): Op {
    return new Op(
      RequestOp.fromPartial({ request: { $case: 'requestDeleteRange', requestDeleteRange: deleteRequest(sel, options) } }),
      true,
    );
  }
}

/** The result of one op, in the position of the op that ran. */
export type OpResult =
  | { type: 'get'; get: RangeResult }
  | { type: 'put'; put: PutResult }
  | { type: 'delete'; delete: DeleteResult }
  | { type: 'txn'; txn: TxnResult };

export interface TxnResult {
  header: Header;
  /** The transaction's revision (unchanged when it wrote nothing). */
  revision: bigint;
  /** True when every compare held and the `then` ops ran. */
  succeeded: boolean;
  results: OpResult[];
}

function opResult(r: ResponseOp): OpResult {
  switch (r.response?.$case) {
    case 'responseRange':
      return { type: 'get', get: rangeResult(r.response.responseRange) };
    case 'responsePut':
      return { type: 'put', put: putResult(r.response.responsePut) };
    case 'responseDeleteRange':
      return { type: 'delete', delete: deleteResult(r.response.responseDeleteRange) };
    case 'responseTxn':
      return { type: 'txn', txn: txnResult(r.response.responseTxn) };
    case undefined:
      throw new Error('the server sent an empty transaction response op');
  }
}

export function txnResult(res: TxnResponse): TxnResult {
  const h = header(res.header);
  return { header: h, revision: h.revision, succeeded: res.succeeded, results: res.responses.map(opResult) };
}

export interface CommitOptions {
  /** Retry even when the outcome is unknown; only for transactions that are safe to apply twice. */
  retryUnsafe?: boolean;
  timeoutMs?: number;
}

/**
 * Having a `then` method makes a Txn look like a promise to `await`; rejecting non-Op
 * arguments turns an accidental `await txn` into a clear error instead of a hang.
 */
function checkOps(ops: unknown[]): Op[] {
  for (const op of ops)
    if (!(op instanceof Op))
      throw new TypeError('Txn.then/else take Op values (Op.put, Op.get, Op.delete); a Txn is not a promise: call commit()');
  return ops as Op[];
}

export class Txn {
  private readonly compares: Compare[] = [];
  private readonly success: Op[] = [];
  private readonly failure: Op[] = [];

  constructor(private readonly run: (req: TxnRequest, writes: boolean, options: CommitOptions) => Promise<TxnResult>) {}

  /** Adds conditions; all must hold for the `then` ops to run. */
  if(...compares: Compare[]): this {
    this.compares.push(...compares);
    return this;
  }

  /** Ops to run when every compare holds. */
  then(...ops: Op[]): this {
    this.success.push(...checkOps(ops));
    return this;
  }

  /** Ops to run when any compare fails. */
  else(...ops: Op[]): this {
    this.failure.push(...checkOps(ops));
    return this;
  }

  commit(options: CommitOptions = {}): Promise<TxnResult> {
    const req = TxnRequest.fromPartial({
      compare: this.compares.map((c) => c.pb),
      success: this.success.map((o) => o.pb),
      failure: this.failure.map((o) => o.pb),
    });
    const writes = [...this.success, ...this.failure].some((o) => o.writes);
    return this.run(req, writes, options);
  }
}
