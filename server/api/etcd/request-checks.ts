/**
 * etcd's own checks on KV requests (api/v3rpc/key.go), run before the request is
 * translated, so that etcd clients get etcd's answers in etcd's order: an empty key, a sort
 * option etcd does not know, a value or lease given with ignore_value/ignore_lease, an
 * empty txn operation, too many txn operations, and a txn that changes one key twice. The
 * last is etcd's rule, not Cairn's (cairn.v1 applies such changes in order), and the
 * etcd-compatible API behaves as etcd does.
 */
import * as etcd from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { ETCD_ERRORS, EtcdStatusError, type EtcdStatus } from './rpctypes.js';

const fail = (status: EtcdStatus): never => {
  throw new EtcdStatusError(status);
};

/** Whether an enum value is one etcd defines (its enums run from 0 to `last`). */
const known = (value: number, last: number): boolean => Number.isInteger(value) && value >= 0 && value <= last;

export function checkRange(r: etcd.RangeRequest): void {
  if (r.key.length === 0) fail(ETCD_ERRORS.emptyKey);
  if (!known(r.sortOrder, etcd.RangeRequest_SortOrder.DESCEND) || !known(r.sortTarget, etcd.RangeRequest_SortTarget.VALUE)) {
    fail(ETCD_ERRORS.invalidSortOption);
  }
}

export function checkPut(r: etcd.PutRequest): void {
  if (r.key.length === 0) fail(ETCD_ERRORS.emptyKey);
  if (r.ignoreValue && r.value.length !== 0) fail(ETCD_ERRORS.valueProvided);
  if (r.ignoreLease && r.lease !== 0) fail(ETCD_ERRORS.leaseProvided);
}

export function checkDelete(r: etcd.DeleteRangeRequest): void {
  if (r.key.length === 0) fail(ETCD_ERRORS.emptyKey);
}

/** etcd's checkTxnRequest, then its overlap check on both branches. */
export function checkTxn(r: etcd.TxnRequest, maxTxnOps: number): void {
  checkTxnShape(r, maxTxnOps);
  // After the shape check, as etcd: the overlap check is quadratic in the operations.
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

/** Nested txns get the budget the enclosing one leaves (etcd's maxTxnOps - opc). */
function checkTxnShape(r: etcd.TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) fail(ETCD_ERRORS.tooManyOps);
  for (const c of r.compare) if (c.key.length === 0) fail(ETCD_ERRORS.emptyKey);
  for (const op of [...r.success, ...r.failure]) checkOp(op, maxTxnOps - opc);
}

function checkOp(op: etcd.RequestOp, budget: number): void {
  const r = op.request;
  switch (r?.$case) {
    case 'requestRange':
      return checkRange(r.requestRange);
    case 'requestPut':
      return checkPut(r.requestPut);
    case 'requestDeleteRange':
      return checkDelete(r.requestDeleteRange);
    case 'requestTxn':
      return checkTxnShape(r.requestTxn, budget);
    case undefined:
      // etcd's answer to an empty operation.
      return fail(ETCD_ERRORS.keyNotFound);
  }
}

/**
 * A deleted key or range, compared as etcd's interval tree compares its "string affine"
 * bounds: bytes in order, an empty bound being past every key. A delete of [key, "\0")
 * (every key from key on) is an empty interval there, so etcd lets a put of such a key
 * through; so does this.
 */
interface Deleted {
  readonly begin: Buffer;
  /** undefined: the single key `begin`. */
  readonly end: Buffer | undefined;
}

function deletes(deleted: readonly Deleted[], key: Buffer): boolean {
  return deleted.some((d) =>
    d.end === undefined ? d.begin.equals(key) : Buffer.compare(d.begin, key) <= 0 && (d.end.length === 0 || Buffer.compare(key, d.end) < 0),
  );
}

/**
 * etcd's checkIntervals: within one branch (nested txns included), no key may be put twice
 * or put and deleted. A key put in both branches of a nested txn is fine (only one runs).
 * Returns the branch's puts and deletes for the enclosing level.
 */
function checkIntervals(reqs: readonly etcd.RequestOp[]): { puts: Set<string>; dels: Deleted[] } {
  const dels: Deleted[] = [];
  for (const op of reqs) {
    if (op.request?.$case !== 'requestDeleteRange') continue;
    const d = op.request.requestDeleteRange;
    dels.push({ begin: d.key, end: d.rangeEnd.length !== 0 ? d.rangeEnd : undefined });
  }
  // Keys as latin1 strings: one character per byte, so equal strings are equal keys.
  const puts = new Set<string>();
  const duplicate = (): never => fail(ETCD_ERRORS.duplicateKey);
  for (const op of reqs) {
    if (op.request?.$case !== 'requestTxn') continue;
    const nested = op.request.requestTxn;
    const then = checkIntervals(nested.success);
    const otherwise = checkIntervals(nested.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deletes(dels, Buffer.from(k, 'latin1'))) duplicate();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) duplicate();
      if (deletes(dels, Buffer.from(k, 'latin1'))) duplicate();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of reqs) {
    if (op.request?.$case !== 'requestPut') continue;
    const key = op.request.requestPut.key;
    const k = key.toString('latin1');
    if (puts.has(k) || deletes(dels, key)) duplicate();
    puts.add(k);
  }
  return { puts, dels };
}
