import type { RangeRequest } from '../../../gen/ts/cairn/v1/kv.js';
import { AlarmRequest_AlarmAction, type AlarmRequest } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import type * as etcd from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { toCairnDelete, toCairnPut, toCairnRange, toCairnTxn } from '../etcd/kv-translation.js';
import { deleteNeeds, putNeeds, rangeNeeds, txnNeeds, type KeyNeed } from '../../apply/auth/key-needs.js';
import type { LockRequest, UnlockRequest } from '../../../gen/ts/etcd/server/etcdserver/api/v3lock/v3lockpb/v3lock.js';
import type {
  CampaignRequest,
  LeaderRequest,
  ProclaimRequest,
  ResignRequest,
} from '../../../gen/ts/etcd/server/etcdserver/api/v3election/v3electionpb/v3election.js';
import { electionPrefix, keyNeeds, keyWriteNeeds, lockPrefix, prefixNeeds, prefixReadNeeds } from '../etcd/recipe-keys.js';

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
  | {
      readonly kind: 'user';
      /**
       * A follower forwards these calls to the leader over one stream shared by all its
       * clients (lease-forwarder.ts), after checking each client itself; the leader lets a
       * call marked forwarded through when the caller proves it is a member (MemberCheck).
       */
      readonly forwardedByMembers?: true;
    }
  | {
      readonly kind: 'root';
      /** Requests that any authenticated user may make (etcd's Alarm GET beside its root-only changes). */
      readonly anyUserFor?: (request: never) => boolean;
    }
  | {
      readonly kind: 'keys';
      readonly needs: (request: never) => KeyNeed[];
      /**
       * Whether the check must wait for the read barrier first: a linearizable read is
       * judged against the auth state as fresh as the data it returns, so a permission
       * revoked through any member is seen. (Writes are checked again when applied.)
       */
      readonly afterReadBarrier?: (request: never) => boolean;
    }
  | { readonly kind: 'watch' };

const OPEN: AccessRule = { kind: 'open' };
const ROOT: AccessRule = { kind: 'root' };
const USER: AccessRule = { kind: 'user' };
const USER_OR_FORWARDED: AccessRule = { kind: 'user', forwardedByMembers: true };
const keys = <Req>(needs: (request: Req) => KeyNeed[], afterReadBarrier?: (request: Req) => boolean): AccessRule =>
  afterReadBarrier === undefined ? { kind: 'keys', needs } : { kind: 'keys', needs, afterReadBarrier };

/**
 * The one table: every method the member serves, by its gRPC path. A service registered
 * through the guard with a method missing here stops the member at start (fail closed),
 * so a new RPC cannot ship unchecked.
 */
export const ACCESS_RULES: Readonly<Record<string, AccessRule>> = {
  '/cairn.v1.KVService/Range': keys(rangeNeeds, (r: RangeRequest) => !r.serializable),
  '/cairn.v1.KVService/Put': keys(putNeeds),
  '/cairn.v1.KVService/DeleteRange': keys(deleteNeeds),
  '/cairn.v1.KVService/Txn': keys(txnNeeds),
  '/cairn.v1.KVService/Compact': ROOT,
  '/cairn.v1.WatchService/Watch': { kind: 'watch' },
  // Any user may hold leases (etcd: the same). Revoking deletes the lease's keys, so the
  // applier also checks write permission on every key attached at that point of the log.
  '/cairn.v1.LeaseService/LeaseGrant': USER,
  '/cairn.v1.LeaseService/LeaseRevoke': USER,
  '/cairn.v1.LeaseService/LeaseKeepAlive': USER_OR_FORWARDED,
  '/cairn.v1.LeaseService/LeaseTimeToLive': USER_OR_FORWARDED,
  '/cairn.v1.LeaseService/LeaseLeases': USER,
  // Membership is what clients need to find endpoints (etcd leaves MemberList open too).
  '/cairn.v1.ClusterService/MemberList': OPEN,
  '/cairn.v1.ClusterService/MemberAdd': ROOT,
  '/cairn.v1.ClusterService/MemberPromote': ROOT,
  '/cairn.v1.ClusterService/MemberRemove': ROOT,
  // Status is what load balancers and `cairn status` probe; it shows Raft progress, no key
  // (etcd leaves it open). HashKV digests every key; MoveLeader disrupts the cluster.
  '/cairn.v1.MaintenanceService/Status': OPEN,
  '/cairn.v1.MaintenanceService/HashKV': ROOT,
  '/cairn.v1.MaintenanceService/MoveLeader': ROOT,
  // Listing shows which member is corrupt, disarming lets writes through again (etcd: admin only);
  // Status (open) carries the list too, for `cairn status`.
  '/cairn.v1.MaintenanceService/Alarms': ROOT,
  // A snapshot is every key and every user's password hash; defragmenting loads the disk (etcd: admin only).
  '/cairn.v1.MaintenanceService/Snapshot': ROOT,
  '/cairn.v1.MaintenanceService/Defragment': ROOT,
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
  // etcd's API (server/api/etcd/): the same rules as the cairn.v1 methods it maps onto.
  '/etcdserverpb.KV/Range': keys(
    (r: etcd.RangeRequest) => rangeNeeds(toCairnRange(r)),
    (r: etcd.RangeRequest) => !r.serializable,
  ),
  // Range in pages (etcd/range-stream.ts): the same keys, checked once as the stream opens (as etcd).
  '/etcdserverpb.KV/RangeStream': keys(
    (r: etcd.RangeRequest) => rangeNeeds(toCairnRange(r)),
    (r: etcd.RangeRequest) => !r.serializable,
  ),
  '/etcdserverpb.KV/Put': keys((r: etcd.PutRequest) => putNeeds(toCairnPut(r))),
  '/etcdserverpb.KV/DeleteRange': keys((r: etcd.DeleteRangeRequest) => deleteNeeds(toCairnDelete(r))),
  '/etcdserverpb.KV/Txn': keys((r: etcd.TxnRequest) => txnNeeds(toCairnTxn(r))),
  '/etcdserverpb.KV/Compact': ROOT,
  '/etcdserverpb.Watch/Watch': { kind: 'watch' },
  // Forwarded keep-alives and time-to-live reach the leader's cairn.v1 service, never these.
  '/etcdserverpb.Lease/LeaseGrant': USER,
  '/etcdserverpb.Lease/LeaseRevoke': USER,
  '/etcdserverpb.Lease/LeaseKeepAlive': USER,
  '/etcdserverpb.Lease/LeaseTimeToLive': USER,
  '/etcdserverpb.Lease/LeaseLeases': USER,

  // etcd's API, the same rules as the cairn.v1 methods each maps onto (etcd's own, unless said).
  '/etcdserverpb.Cluster/MemberList': OPEN,
  '/etcdserverpb.Cluster/MemberAdd': ROOT,
  '/etcdserverpb.Cluster/MemberRemove': ROOT,
  '/etcdserverpb.Cluster/MemberUpdate': ROOT,
  '/etcdserverpb.Cluster/MemberPromote': ROOT,
  // etcd asks any user for Status; Cairn's Status is open, and so is this one (no key shown).
  '/etcdserverpb.Maintenance/Status': OPEN,
  // As etcd (authMaintenanceServer.Alarm): any user may list alarms, raising and ending them
  // needs the root role. (Cairn's own Alarms stays root only: it lists and ends in one method.)
  '/etcdserverpb.Maintenance/Alarm': {
    kind: 'root',
    anyUserFor: (r: AlarmRequest) => r.action === AlarmRequest_AlarmAction.GET,
  },
  '/etcdserverpb.Maintenance/Defragment': ROOT,
  '/etcdserverpb.Maintenance/Hash': ROOT,
  '/etcdserverpb.Maintenance/HashKV': ROOT,
  '/etcdserverpb.Maintenance/Snapshot': ROOT,
  '/etcdserverpb.Maintenance/MoveLeader': ROOT,
  '/etcdserverpb.Maintenance/Downgrade': ROOT,
  '/etcdserverpb.Auth/Authenticate': OPEN,
  '/etcdserverpb.Auth/AuthStatus': OPEN,
  '/etcdserverpb.Auth/AuthEnable': ROOT,
  '/etcdserverpb.Auth/AuthDisable': ROOT,
  '/etcdserverpb.Auth/UserAdd': ROOT,
  '/etcdserverpb.Auth/UserGet': ROOT,
  '/etcdserverpb.Auth/UserList': ROOT,
  '/etcdserverpb.Auth/UserDelete': ROOT,
  '/etcdserverpb.Auth/UserChangePassword': ROOT,
  '/etcdserverpb.Auth/UserGrantRole': ROOT,
  '/etcdserverpb.Auth/UserRevokeRole': ROOT,
  '/etcdserverpb.Auth/RoleAdd': ROOT,
  '/etcdserverpb.Auth/RoleGet': ROOT,
  '/etcdserverpb.Auth/RoleList': ROOT,
  '/etcdserverpb.Auth/RoleDelete': ROOT,
  '/etcdserverpb.Auth/RoleGrantPermission': ROOT,
  '/etcdserverpb.Auth/RoleRevokePermission': ROOT,
  // Lock and Election run transactions on the caller's behalf: they need what those need
  // (read and write on `<name>/`), and the writes are checked again as the caller when applied.
  '/v3lockpb.Lock/Lock': keys((r: LockRequest) => prefixNeeds(lockPrefix(r.name))),
  '/v3lockpb.Lock/Unlock': keys((r: UnlockRequest) => keyWriteNeeds(r.key)),
  '/v3electionpb.Election/Campaign': keys((r: CampaignRequest) => prefixNeeds(electionPrefix(r.name))),
  '/v3electionpb.Election/Proclaim': keys((r: ProclaimRequest) => keyNeeds(r.leader?.key ?? Buffer.alloc(0))),
  '/v3electionpb.Election/Leader': keys((r: LeaderRequest) => prefixReadNeeds(electionPrefix(r.name))),
  '/v3electionpb.Election/Observe': keys((r: LeaderRequest) => prefixReadNeeds(electionPrefix(r.name))),
  '/v3electionpb.Election/Resign': keys((r: ResignRequest) => keyNeeds(r.leader?.key ?? Buffer.alloc(0))),
};
