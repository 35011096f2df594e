import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type { TxnRequest } from '../../gen/ts/cairn/v1/kv.js';

/**
 * Whether a command may grow the store: a put, a transaction with a put in either branch
 * (at any depth: which branch runs is only known when applied), or a lease grant. These
 * are what a NOSPACE alarm refuses (etcd's capped applier); deletes, compaction, lease
 * revokes and expiries, checkpoints, auth and alarm changes only free space or touch no key.
 */
export function addsData(command: Command): boolean {
  const request = command.request;
  switch (request?.$case) {
    case 'put':
    case 'leaseGrant':
      return true;
    case 'txn':
      return txnHasPut(request.txn);
    default:
      return false;
  }
}

function txnHasPut(txn: TxnRequest): boolean {
  for (const op of [...txn.success, ...txn.failure]) {
    const r = op.request;
    if (r?.$case === 'requestPut') return true;
    if (r?.$case === 'requestTxn' && txnHasPut(r.requestTxn)) return true;
  }
  return false;
}
