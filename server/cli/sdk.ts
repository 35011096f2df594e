/**
 * The one door from the CLI to the TypeScript SDK: every CLI file imports the SDK from
 * here, so moving or renaming the SDK package is a change to this file alone.
 */
export {
  CairnClient,
  CairnError,
  ErrorCode,
  Election,
  Mutex,
  Session,
  observeLeader,
  type CallContext,
  type ClientOptions,
  type Header,
  type InvokeOptions,
  type KeySelector,
  type KeyValue,
  type Member,
  type ReadOptions,
  type Safety,
  type TlsOptions,
  type WatchEvent,
} from '../../sdk/typescript/src/index.js';

// The wire types of the calls the CLI makes raw through client.call() (the services and
// options the SDK's typed API does not cover), as the SDK generates them: int64 as bigint.
export {
  AlarmAction,
  AlarmType,
  type AlarmMember,
  type AlarmsResponse,
  type DefragmentResponse,
  type HashKVResponse,
  type MoveLeaderResponse,
  type SnapshotResponse,
  type StatusResponse,
} from '../../sdk/typescript/gen/cairn/v1/maintenance.js';
export {
  Permission_Type,
  type AuthServiceClient,
  type AuthStatusResponse,
  type Permission,
  type RoleGetResponse,
  type RoleListResponse,
  type UserGetResponse,
  type UserListResponse,
} from '../../sdk/typescript/gen/cairn/v1/auth.js';
export type {
  ClusterServiceClient,
  MemberAddResponse,
  MemberPromoteResponse,
  MemberRemoveResponse,
} from '../../sdk/typescript/gen/cairn/v1/cluster.js';
export {
  Compare as CompareMessage,
  Compare_CompareResult,
  Compare_CompareTarget,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  TxnRequest,
  type RequestOp,
  type ResponseOp,
  type TxnResponse,
} from '../../sdk/typescript/gen/cairn/v1/kv.js';
export { Event_EventType, type Event } from '../../sdk/typescript/gen/cairn/v1/types.js';
export {
  WatchCreateRequest,
  WatchCreateRequest_FilterType,
  type WatchRequest,
  type WatchResponse,
} from '../../sdk/typescript/gen/cairn/v1/watch.js';
