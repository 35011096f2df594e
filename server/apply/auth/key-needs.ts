import type { Command } from '../../../gen/ts/cairn/internal/v1/command.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../../../gen/ts/cairn/v1/kv.js';

/** One key or range a call reads or writes, with key/range_end as in RangeRequest. */
export interface KeyNeed {
  readonly access: 'read' | 'write';
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
}

const read = (key: Buffer, rangeEnd: Buffer): KeyNeed => ({ access: 'read', key, rangeEnd });
const write = (key: Buffer, rangeEnd: Buffer): KeyNeed => ({ access: 'write', key, rangeEnd });
const NO_END = Buffer.alloc(0);

/** A range needs read on its keys, whatever revision it reads at (history is still data). */
export const rangeNeeds = (r: RangeRequest): KeyNeed[] => [read(r.key, r.rangeEnd)];
/** prev_kv returns the old value: a put with it needs read too. */
export const putNeeds = (r: PutRequest): KeyNeed[] => [write(r.key, NO_END), ...(r.prevKv ? [read(r.key, NO_END)] : [])];
export const deleteNeeds = (r: DeleteRangeRequest): KeyNeed[] => [write(r.key, r.rangeEnd), ...(r.prevKv ? [read(r.key, r.rangeEnd)] : [])];

/**
 * Every compare needs read (its outcome discloses the key's value or revisions), and every
 * operation of both branches is checked, whichever would run, nested txns included: which
 * branch runs is data the caller may not be allowed to learn.
 */
export function txnNeeds(r: TxnRequest): KeyNeed[] {
  const needs: KeyNeed[] = r.compare.map((c) => read(c.key, c.rangeEnd));
  for (const op of [...r.success, ...r.failure]) needs.push(...opNeeds(op));
  return needs;
}

function opNeeds(op: RequestOp): KeyNeed[] {
  const request = op.request;
  switch (request?.$case) {
    case 'requestRange':
      return rangeNeeds(request.requestRange);
    case 'requestPut':
      return putNeeds(request.requestPut);
    case 'requestDeleteRange':
      return deleteNeeds(request.requestDeleteRange);
    case 'requestTxn':
      return txnNeeds(request.requestTxn);
    case undefined:
      return [];
  }
}

/**
 * What a key-value command needs: the same rules the API applies, run again by the
 * applier against the auth state at the command's place in the log.
 */
export function commandNeeds(command: Command): KeyNeed[] {
  const request = command.request;
  switch (request?.$case) {
    case 'put':
      return putNeeds(request.put);
    case 'deleteRange':
      return deleteNeeds(request.deleteRange);
    case 'txn':
      return txnNeeds(request.txn);
    case 'compact':
    case 'auth':
    case 'alarm':
    case 'leaseGrant':
    case 'leaseExpire':
    case 'leaseCheckpoint':
    case undefined:
      return [];
    case 'leaseRevoke':
      // Revoking deletes every key attached to the lease; the applier adds a write need per
      // key (see leaseRevokeNeeds), since only it knows which keys are attached at that point.
      return [];
  }
}

/** Revoking a lease deletes its keys: write permission on each of them, as etcd checks. */
export function leaseRevokeNeeds(attachedKeys: Iterable<Buffer>): KeyNeed[] {
  return [...attachedKeys].map((key) => write(key, NO_END));
}
