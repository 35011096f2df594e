import { Compare_CompareResult, Compare_CompareTarget, type Compare } from '../../gen/ts/cairn/v1/kv.js';
import type { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { invariant } from '../invariant.js';
import type { WriteTxn } from '../mvcc/write-txn.js';

/**
 * Whether a compare holds at the transaction's read revision. A missing key compares as a
 * version with every number 0 and no value (so a value compare on it fails), as in etcd.
 * With range_end, every key in the range must satisfy it.
 */
export async function compareHolds(txn: WriteTxn, compare: Compare): Promise<boolean> {
  if (compare.rangeEnd.length === 0) return compareKeyValue(compare, await txn.get(compare.key));
  const { kvs } = await txn.range({
    key: compare.key,
    rangeEnd: compare.rangeEnd,
    limit: 0,
    revision: 0,
    sortOrder: 0,
    sortTarget: 0,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    maxStalenessMs: 0,
  });
  if (kvs.length === 0) return compareKeyValue(compare, undefined);
  return kvs.every((kv) => compareKeyValue(compare, kv));
}

function compareKeyValue(compare: Compare, kv: KeyValue | undefined): boolean {
  let order: number;
  const union = compare.targetUnion;
  switch (compare.target) {
    case Compare_CompareTarget.COMPARE_TARGET_VALUE: {
      if (kv === undefined) return false;
      const wanted = union?.$case === 'value' ? union.value : Buffer.alloc(0);
      order = Buffer.compare(kv.value, wanted);
      break;
    }
    case Compare_CompareTarget.COMPARE_TARGET_VERSION:
      order = Math.sign((kv?.version ?? 0) - numberOf(union));
      break;
    case Compare_CompareTarget.COMPARE_TARGET_CREATE:
      order = Math.sign((kv?.createRevision ?? 0) - numberOf(union));
      break;
    case Compare_CompareTarget.COMPARE_TARGET_MOD:
      order = Math.sign((kv?.modRevision ?? 0) - numberOf(union));
      break;
    case Compare_CompareTarget.COMPARE_TARGET_LEASE:
      order = Math.sign((kv?.lease ?? 0) - numberOf(union));
      break;
    default:
      invariant(false, `unvalidated compare target ${compare.target}`);
  }
  switch (compare.result) {
    case Compare_CompareResult.COMPARE_RESULT_EQUAL:
      return order === 0;
    case Compare_CompareResult.COMPARE_RESULT_NOT_EQUAL:
      return order !== 0;
    case Compare_CompareResult.COMPARE_RESULT_GREATER:
      return order > 0;
    case Compare_CompareResult.COMPARE_RESULT_LESS:
      return order < 0;
    default:
      invariant(false, `unvalidated compare result ${compare.result}`);
  }
}

function numberOf(union: Compare['targetUnion']): number {
  if (union === undefined || union.$case === 'value') return 0;
  switch (union.$case) {
    case 'version':
      return union.version;
    case 'createRevision':
      return union.createRevision;
    case 'modRevision':
      return union.modRevision;
    case 'lease':
      return union.lease;
  }
}
