/**
 * etcd's status codes and messages (api/v3rpc/rpctypes/error.go in etcd v3.7.3), which etcd
 * clients match on: clientv3 turns a message it knows into its typed error (ErrCompacted,
 * ErrLeaseNotFound, ErrInvalidAuthToken, ...) and retries or re-authenticates by it. Every
 * etcd-compatible service ends its calls through `toEtcdServiceError`, so that Cairn's
 * domain errors reach etcd clients as etcd's own.
 *
 * The table from Cairn's codes is the one place for that translation. Keep its rows one per
 * line, sorted by code (several helpers add rows; merging is then a union).
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { CairnError, ErrorCode, type DomainErrorCode } from '../../errors.js';
import { grpcStatusOf } from '../errors.js';

/** A status as etcd sends it: gRPC code and message. */
export interface EtcdStatus {
  readonly code: status;
  readonly message: string;
}

const etcdStatus = (code: status, message: string): EtcdStatus => Object.freeze({ code, message });

/** etcd's errors (rpctypes.ErrGRPC*) that the compatible services send, by etcd's name. */
export const ETCD_ERRORS = {
  authFailed: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password'),
  authNotEnabled: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  badLeaderTransferee: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),
  compacted: etcdStatus(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  corrupt: etcdStatus(status.DATA_LOSS, 'etcdserver: corrupt cluster'),
  duplicateKey: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  emptyKey: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  futureRev: etcdStatus(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  invalidAuthMgmt: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: invalid auth management'),
  invalidAuthToken: etcdStatus(status.UNAUTHENTICATED, 'etcdserver: invalid auth token'),
  invalidDowngradeTarget: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: invalid downgrade target version'),
  invalidSortOption: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: invalid sort option'),
  keyNotFound: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: key not found'),
  leaderChanged: etcdStatus(status.UNAVAILABLE, 'etcdserver: leader changed'),
  learnerNotReady: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'),
  leaseExist: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  leaseNotFound: etcdStatus(status.NOT_FOUND, 'etcdserver: requested lease not found'),
  leaseProvided: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  leaseTtlTooLarge: etcdStatus(status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
  memberBadURLs: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'),
  memberNotFound: etcdStatus(status.NOT_FOUND, 'etcdserver: member not found'),
  memberNotLearner: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  noLeader: etcdStatus(status.UNAVAILABLE, 'etcdserver: no leader'),
  noSpace: etcdStatus(status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'),
  notLeader: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: not leader'),
  peerURLExist: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  permissionDenied: etcdStatus(status.PERMISSION_DENIED, 'etcdserver: permission denied'),
  permissionNotGiven: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: permission not given'),
  permissionNotGranted: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: permission is not granted to the role'),
  requestTooLarge: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  roleAlreadyExist: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: role name already exists'),
  roleEmpty: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: role name is empty'),
  roleNotFound: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: role name not found'),
  roleNotGranted: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'),
  rootRoleNotExist: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: root user does not have root role'),
  rootUserNotExist: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  stopped: etcdStatus(status.UNAVAILABLE, 'etcdserver: server stopped'),
  timeout: etcdStatus(status.UNAVAILABLE, 'etcdserver: request timed out'),
  tooManyOps: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  tooManyRequests: etcdStatus(status.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'),
  userAlreadyExist: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: user name already exists'),
  userEmpty: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: user name is empty'),
  userNotFound: etcdStatus(status.FAILED_PRECONDITION, 'etcdserver: user name not found'),
  valueProvided: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  wrongDowngradeVersionFormat: etcdStatus(status.INVALID_ARGUMENT, 'etcdserver: wrong downgrade target version format'),
} as const;

/**
 * Cairn's code → etcd's status, for the codes etcd has an error of its own for. A code
 * without a row keeps Cairn's gRPC status and message (etcd has no equivalent that a
 * client could match on: Cairn's limits on watches, streams, leases and forwards).
 */
const ETCD_STATUS_BY_CODE: Partial<Record<DomainErrorCode, EtcdStatus>> = {
  [ErrorCode.ERROR_CODE_EMPTY_KEY]: ETCD_ERRORS.emptyKey, // 1
  [ErrorCode.ERROR_CODE_KEY_TOO_LARGE]: ETCD_ERRORS.requestTooLarge, // 2: etcd has no key limit of its own, only the request's
  [ErrorCode.ERROR_CODE_VALUE_TOO_LARGE]: ETCD_ERRORS.requestTooLarge, // 3
  [ErrorCode.ERROR_CODE_REQUEST_TOO_LARGE]: ETCD_ERRORS.requestTooLarge, // 4
  [ErrorCode.ERROR_CODE_TOO_MANY_TXN_OPS]: ETCD_ERRORS.tooManyOps, // 5
  [ErrorCode.ERROR_CODE_COMPACTED]: ETCD_ERRORS.compacted, // 7
  [ErrorCode.ERROR_CODE_FUTURE_REVISION]: ETCD_ERRORS.futureRev, // 8
  [ErrorCode.ERROR_CODE_LEASE_NOT_FOUND]: ETCD_ERRORS.leaseNotFound, // 9
  [ErrorCode.ERROR_CODE_KEY_NOT_FOUND]: ETCD_ERRORS.keyNotFound, // 10: a put with ignore_value/ignore_lease on a missing key
  [ErrorCode.ERROR_CODE_STOPPING]: ETCD_ERRORS.stopped, // 14
  [ErrorCode.ERROR_CODE_NO_LEADER]: ETCD_ERRORS.noLeader, // 15
  [ErrorCode.ERROR_CODE_TIMEOUT]: ETCD_ERRORS.timeout, // 16
  [ErrorCode.ERROR_CODE_LEADER_CHANGED]: ETCD_ERRORS.leaderChanged, // 17
  [ErrorCode.ERROR_CODE_LEASE_EXISTS]: ETCD_ERRORS.leaseExist, // 18
  [ErrorCode.ERROR_CODE_LEASE_TTL_TOO_LARGE]: ETCD_ERRORS.leaseTtlTooLarge, // 19
  [ErrorCode.ERROR_CODE_TOO_MANY_LEASE_FORWARDS]: ETCD_ERRORS.tooManyRequests, // 22
  [ErrorCode.ERROR_CODE_PERMISSION_DENIED]: ETCD_ERRORS.permissionDenied, // 30
  [ErrorCode.ERROR_CODE_AUTH_FAILED]: ETCD_ERRORS.authFailed, // 31
  [ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN]: ETCD_ERRORS.invalidAuthToken, // 32
  [ErrorCode.ERROR_CODE_AUTH_NOT_ENABLED]: ETCD_ERRORS.authNotEnabled, // 33
  [ErrorCode.ERROR_CODE_USER_NOT_FOUND]: ETCD_ERRORS.userNotFound, // 34
  [ErrorCode.ERROR_CODE_USER_EXISTS]: ETCD_ERRORS.userAlreadyExist, // 35
  [ErrorCode.ERROR_CODE_ROLE_NOT_FOUND]: ETCD_ERRORS.roleNotFound, // 36
  [ErrorCode.ERROR_CODE_ROLE_EXISTS]: ETCD_ERRORS.roleAlreadyExist, // 37
  [ErrorCode.ERROR_CODE_ROOT_USER_NOT_EXIST]: ETCD_ERRORS.rootUserNotExist, // 38
  [ErrorCode.ERROR_CODE_ROOT_ROLE_NOT_EXIST]: ETCD_ERRORS.rootRoleNotExist, // 39
  [ErrorCode.ERROR_CODE_ROLE_NOT_GRANTED]: ETCD_ERRORS.roleNotGranted, // 40
  [ErrorCode.ERROR_CODE_PERMISSION_NOT_GRANTED]: ETCD_ERRORS.permissionNotGranted, // 41
  [ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT]: ETCD_ERRORS.invalidAuthMgmt, // 42
  [ErrorCode.ERROR_CODE_AUTH_REQUIRED]: ETCD_ERRORS.userEmpty, // 43: etcd's answer to a call without a token while auth is on
  [ErrorCode.ERROR_CODE_CORRUPT]: ETCD_ERRORS.corrupt, // 50
  [ErrorCode.ERROR_CODE_MEMBER_NOT_FOUND]: ETCD_ERRORS.memberNotFound, // 60
  [ErrorCode.ERROR_CODE_MEMBER_EXISTS]: ETCD_ERRORS.peerURLExist, // 61: through etcd's API a member is named by its address
  [ErrorCode.ERROR_CODE_LEARNER_NOT_READY]: ETCD_ERRORS.learnerNotReady, // 62
  [ErrorCode.ERROR_CODE_NOT_LEADER]: ETCD_ERRORS.notLeader, // 64
  [ErrorCode.ERROR_CODE_NO_SPACE]: ETCD_ERRORS.noSpace, // 74
};

/** The status etcd would answer with for this domain error. */
export function etcdStatusOf(err: CairnError): EtcdStatus {
  return ETCD_STATUS_BY_CODE[err.code] ?? { code: grpcStatusOf(err.code), message: err.message };
}

/** An error raised by an etcd-compatible handler itself, with etcd's exact status (e.g. a duplicate key in a txn). */
export class EtcdStatusError extends Error {
  override readonly name = 'EtcdStatusError';
  constructor(readonly status: EtcdStatus) {
    super(status.message);
  }
}

/**
 * The status an etcd-compatible call or stream ends with. Domain errors go through the
 * table; anything else is INTERNAL without details (as Cairn's own services).
 */
export function toEtcdServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof EtcdStatusError) return { code: err.status.code, details: err.status.message };
  if (err instanceof CairnError) {
    const { code, message } = etcdStatusOf(err);
    return { code, details: message };
  }
  return { code: status.INTERNAL, details: 'internal error; see the server log' };
}
