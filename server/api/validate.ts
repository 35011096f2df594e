import {
  Compare_CompareResult,
  Compare_CompareTarget,
  type Compare,
  type CompactRequest,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from '../../gen/ts/cairn/v1/kv.js';
import type { Limits } from '../config.js';
import { CairnError, ErrorCode } from '../errors.js';

/**
 * Stateless checks on requests, run before anything is proposed or applied, so that bad
 * input costs nothing and changes nothing. Each message says what to change.
 */
export class RequestValidator {
  constructor(private readonly limits: Limits) {}

  key(key: Buffer, what = 'key'): void {
    if (key.length === 0)
      throw new CairnError(
        ErrorCode.ERROR_CODE_EMPTY_KEY,
        `${what} is empty; give a non-empty key (use "\\0" with range_end "\\0" for every key)`,
      );
    if (key.length > this.limits.maxKeyBytes) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_KEY_TOO_LARGE,
        `${what} is ${key.length} bytes; the limit is ${this.limits.maxKeyBytes} (--max-key-bytes)`,
      );
    }
  }

  range(req: RangeRequest): void {
    this.key(req.key);
    if (req.limit < 0)
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `limit is ${req.limit}; it must be 0 (no limit) or positive`);
    if (req.revision < 0)
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `revision is ${req.revision}; it must be 0 (latest) or positive`);
    if (req.maxStalenessMs < 0)
      throw new CairnError(
        ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
        `max_staleness_ms is ${req.maxStalenessMs}; it must be 0 (no bound) or positive`,
      );
    checkEnum('sort_order', req.sortOrder, 2);
    checkEnum('sort_target', req.sortTarget, 5);
  }

  put(req: PutRequest): void {
    this.key(req.key);
    if (req.value.length > this.limits.maxValueBytes) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_VALUE_TOO_LARGE,
        `value is ${req.value.length} bytes; the limit is ${this.limits.maxValueBytes} (--max-value-bytes)`,
      );
    }
    if (req.ignoreValue && req.value.length > 0) {
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'ignore_value is set, so value must be empty');
    }
    if (req.ignoreLease && req.lease !== 0) {
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'ignore_lease is set, so lease must be 0');
    }
    this.size(req.key.length + req.value.length);
  }

  deleteRange(req: DeleteRangeRequest): void {
    this.key(req.key);
  }

  compact(req: CompactRequest): void {
    if (req.revision <= 0)
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `revision is ${req.revision}; compaction needs a positive revision`);
  }

  txn(req: TxnRequest): void {
    this.size(this.txnBytes(req));
    this.txnShape(req);
  }

  /**
   * budget: operations left for this txn. Nested txns get what the enclosing one leaves
   * (etcd's maxTxnOps - opc), so that nested operations count against the limit too; each
   * nested txn used to get the whole limit again, which let nesting multiply it.
   */
  private txnShape(req: TxnRequest, budget = this.limits.maxTxnOps): void {
    const nested = budget < this.limits.maxTxnOps;
    for (const [name, list] of [
      ['compare', req.compare],
      ['success', req.success],
      ['failure', req.failure],
    ] as const) {
      if (list.length > budget) {
        throw new CairnError(
          ErrorCode.ERROR_CODE_TOO_MANY_TXN_OPS,
          nested
            ? `nested txn ${name} has ${list.length} entries; ${budget} of the limit of ${this.limits.maxTxnOps} are left after the enclosing txn (--max-txn-ops)`
            : `txn ${name} has ${list.length} entries; the limit is ${this.limits.maxTxnOps} (--max-txn-ops)`,
        );
      }
    }
    const used = Math.max(req.compare.length, req.success.length, req.failure.length);
    req.compare.forEach((c) => this.compare(c));
    for (const op of [...req.success, ...req.failure]) this.op(op, budget - used);
  }

  private op(op: RequestOp, budget: number): void {
    const r = op.request;
    if (r === undefined) throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'txn operation has no request set');
    switch (r.$case) {
      case 'requestRange':
        return this.range(r.requestRange);
      case 'requestPut':
        return this.put(r.requestPut);
      case 'requestDeleteRange':
        return this.deleteRange(r.requestDeleteRange);
      case 'requestTxn':
        return this.txnShape(r.requestTxn, budget);
    }
  }

  private compare(c: Compare): void {
    this.key(c.key, 'compare key');
    if (
      !Number.isInteger(c.result) ||
      c.result < Compare_CompareResult.COMPARE_RESULT_EQUAL ||
      c.result > Compare_CompareResult.COMPARE_RESULT_NOT_EQUAL
    )
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'compare result must be EQUAL, GREATER, LESS or NOT_EQUAL');
    const expected = UNION_CASE[c.target];
    if (expected === undefined)
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'compare target must be VERSION, CREATE, MOD, VALUE or LEASE');
    if (c.targetUnion !== undefined && c.targetUnion.$case !== expected) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
        `compare target ${Compare_CompareTarget[c.target]} needs its value in field ${expected}, not ${c.targetUnion.$case}`,
      );
    }
  }

  private size(bytes: number): void {
    if (bytes > this.limits.maxRequestBytes) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_REQUEST_TOO_LARGE,
        `request carries ${bytes} bytes of keys and values; the limit is ${this.limits.maxRequestBytes} (--max-request-bytes)`,
      );
    }
  }

  private txnBytes(req: TxnRequest): number {
    let total = 0;
    for (const c of req.compare)
      total += c.key.length + c.rangeEnd.length + (c.targetUnion?.$case === 'value' ? c.targetUnion.value.length : 0);
    for (const op of [...req.success, ...req.failure]) {
      const r = op.request;
      if (r?.$case === 'requestPut') total += r.requestPut.key.length + r.requestPut.value.length;
      else if (r?.$case === 'requestRange') total += r.requestRange.key.length + r.requestRange.rangeEnd.length;
      else if (r?.$case === 'requestDeleteRange') total += r.requestDeleteRange.key.length + r.requestDeleteRange.rangeEnd.length;
      else if (r?.$case === 'requestTxn') total += this.txnBytes(r.requestTxn);
    }
    return total;
  }
}

const UNION_CASE: Partial<Record<Compare_CompareTarget, string>> = {
  [Compare_CompareTarget.COMPARE_TARGET_VERSION]: 'version',
  [Compare_CompareTarget.COMPARE_TARGET_CREATE]: 'createRevision',
  [Compare_CompareTarget.COMPARE_TARGET_MOD]: 'modRevision',
  [Compare_CompareTarget.COMPARE_TARGET_VALUE]: 'value',
  [Compare_CompareTarget.COMPARE_TARGET_LEASE]: 'lease',
};

function checkEnum(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `${field} ${value} is not a known value`);
}
