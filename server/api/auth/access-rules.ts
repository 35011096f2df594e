import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../../../gen/ts/cairn/v1/kv.js';

/** One key or range a call reads or writes, with key/range_end as in RangeRequest. */
export interface KeyNeed {
  readonly access: 'read' | 'write';
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
}

/**
 * What a method needs of its caller while authentication is on:
 * - open: nothing (the call reveals no key and changes nothing, or is how one logs in);
 * - user: any authenticated user;
 * - root: a user with the root role;
 * - keys: read or write permission on every key the request touches (root passes);
 * - watch: a valid caller to open the stream; each watch create then needs read
 *   permission on its whole range, re-checked on every auth change (see WatchAccess).
 */
export type AccessRule =
  | { readonly kind: 'open' }
  | { readonly kind: 'user' }
  | { readonly kind: 'root' }
  | { readonly kind: 'keys'; readonly needs: (request: never) => KeyNeed[] }
  | { readonly kind: 'watch' };

const OPEN: AccessRule = { kind: 'open' };
const ROOT: AccessRule = { kind: 'root' };
const keys = <Req>(needs: (request: Req) => KeyNeed[]): AccessRule => ({ kind: 'keys', needs: needs });

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
 * The one table: every method the member serves, by its gRPC path. A service registered
 * through the guard with a method missing here stops the member at start (fail closed),
 * so a new RPC cannot ship unchecked. Leases will be rows here too (LeaseGrant: user, ...).
 */
export const ACCESS_RULES: Readonly<Record<string, AccessRule>> = {
  '/cairn.v1.KVService/Range': keys(rangeNeeds),
  '/cairn.v1.KVService/Put': keys(putNeeds),
  '/cairn.v1.KVService/DeleteRange': keys(deleteNeeds),
  '/cairn.v1.KVService/Txn': keys(txnNeeds),
  '/cairn.v1.KVService/Compact': ROOT,
  '/cairn.v1.WatchService/Watch': { kind: 'watch' },
  // Membership is what clients need to find endpoints (etcd leaves MemberList open too).
  '/cairn.v1.ClusterService/MemberList': OPEN,
  // Status is what load balancers and `cairn status` probe; it shows Raft progress, no key
  // (etcd leaves it open). HashKV digests every key; MoveLeader disrupts the cluster.
  '/cairn.v1.MaintenanceService/Status': OPEN,
  '/cairn.v1.MaintenanceService/HashKV': ROOT,
  '/cairn.v1.MaintenanceService/MoveLeader': ROOT,
  '/cairn.v1.AuthService/Authenticate': OPEN,
  '/cairn.v1.AuthService/AuthStatus': OPEN,
  '/cairn.v1.AuthService/AuthEnable': ROOT,
  '/cairn.v1.AuthService/AuthDisable': ROOT,
  '/cairn.v1.AuthService/UserAdd': ROOT,
  '/cairn.v1.AuthService/UserDelete': ROOT,
  '/cairn.v1.AuthService/UserGet': ROOT,
  '/cairn.v1.AuthService/UserList': ROOT,
  '/cairn.v1.AuthService/UserChangePassword': ROOT,
  '/cairn.v1.AuthService/UserGrantRole': ROOT,
  '/cairn.v1.AuthService/UserRevokeRole': ROOT,
  '/cairn.v1.AuthService/RoleAdd': ROOT,
  '/cairn.v1.AuthService/RoleDelete': ROOT,
  '/cairn.v1.AuthService/RoleGet': ROOT,
  '/cairn.v1.AuthService/RoleList': ROOT,
  '/cairn.v1.AuthService/RoleGrantPermission': ROOT,
  '/cairn.v1.AuthService/RoleRevokePermission': ROOT,
};
