import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorInfo, RpcStatus, protobufPackage } from '../../gen/ts/cairn/v1/errors.js';
import { CairnError, ErrorCode, type DomainErrorCode } from '../errors.js';

/**
 * The one table from domain error codes to gRPC status codes, for every service: unary
 * calls, watch streams that end with an error, and watches canceled because of one.
 * Typed over every code, so a code added to errors.proto does not compile until it has a
 * status here (and its comment in errors.proto should name the same one).
 */
const STATUS_BY_CODE: Record<DomainErrorCode, status> = {
  [ErrorCode.ERROR_CODE_EMPTY_KEY]: status.INVALID_ARGUMENT,
  [ErrorCode.ERROR_CODE_KEY_TOO_LARGE]: status.INVALID_ARGUMENT,
  [ErrorCode.ERROR_CODE_VALUE_TOO_LARGE]: status.INVALID_ARGUMENT,
  [ErrorCode.ERROR_CODE_INVALID_ARGUMENT]: status.INVALID_ARGUMENT,
  [ErrorCode.ERROR_CODE_REQUEST_TOO_LARGE]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.ERROR_CODE_TOO_MANY_TXN_OPS]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.ERROR_CODE_TOO_MANY_WATCHES]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.ERROR_CODE_TOO_MANY_WATCH_STREAMS]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.ERROR_CODE_DUPLICATE_WATCH_ID]: status.ALREADY_EXISTS,
  // etcd answers OUT_OF_RANGE for both; clients already know to look for it.
  [ErrorCode.ERROR_CODE_COMPACTED]: status.OUT_OF_RANGE,
  [ErrorCode.ERROR_CODE_FUTURE_REVISION]: status.OUT_OF_RANGE,
  [ErrorCode.ERROR_CODE_LEASE_NOT_FOUND]: status.NOT_FOUND,
  [ErrorCode.ERROR_CODE_KEY_NOT_FOUND]: status.NOT_FOUND,
  [ErrorCode.ERROR_CODE_STOPPING]: status.UNAVAILABLE,
  // Both are safe to retry on another member; a timed-out write may still have applied.
  [ErrorCode.ERROR_CODE_NO_LEADER]: status.UNAVAILABLE,
  [ErrorCode.ERROR_CODE_TIMEOUT]: status.UNAVAILABLE,
  [ErrorCode.ERROR_CODE_LEADER_CHANGED]: status.UNAVAILABLE,
  [ErrorCode.ERROR_CODE_LEASE_EXISTS]: status.ALREADY_EXISTS,
  [ErrorCode.ERROR_CODE_LEASE_TTL_TOO_LARGE]: status.INVALID_ARGUMENT,
  [ErrorCode.ERROR_CODE_TOO_MANY_LEASES]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.ERROR_CODE_TOO_MANY_KEYS_PER_LEASE]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.ERROR_CODE_TOO_MANY_LEASE_FORWARDS]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.ERROR_CODE_PERMISSION_DENIED]: status.PERMISSION_DENIED,
  // Missing, wrong or stale credentials: the client must (re)authenticate, not retry as is.
  [ErrorCode.ERROR_CODE_AUTH_FAILED]: status.UNAUTHENTICATED,
  [ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN]: status.UNAUTHENTICATED,
  [ErrorCode.ERROR_CODE_AUTH_REQUIRED]: status.UNAUTHENTICATED,
  [ErrorCode.ERROR_CODE_MEMBER_NOT_FOUND]: status.NOT_FOUND,
  [ErrorCode.ERROR_CODE_MEMBER_EXISTS]: status.ALREADY_EXISTS,
  // Retry later: the learner catches up, the pending change applies.
  [ErrorCode.ERROR_CODE_LEARNER_NOT_READY]: status.FAILED_PRECONDITION,
  [ErrorCode.ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED]: status.FAILED_PRECONDITION,
  [ErrorCode.ERROR_CODE_NOT_LEADER]: status.FAILED_PRECONDITION,
  [ErrorCode.ERROR_CODE_AUTH_NOT_ENABLED]: status.FAILED_PRECONDITION,
  [ErrorCode.ERROR_CODE_USER_NOT_FOUND]: status.NOT_FOUND,
  [ErrorCode.ERROR_CODE_USER_EXISTS]: status.ALREADY_EXISTS,
  [ErrorCode.ERROR_CODE_ROLE_NOT_FOUND]: status.NOT_FOUND,
  [ErrorCode.ERROR_CODE_ROLE_EXISTS]: status.ALREADY_EXISTS,
  [ErrorCode.ERROR_CODE_ROOT_USER_NOT_EXIST]: status.FAILED_PRECONDITION,
  [ErrorCode.ERROR_CODE_ROOT_ROLE_NOT_EXIST]: status.FAILED_PRECONDITION,
  [ErrorCode.ERROR_CODE_ROLE_NOT_GRANTED]: status.FAILED_PRECONDITION,
  [ErrorCode.ERROR_CODE_PERMISSION_NOT_GRANTED]: status.FAILED_PRECONDITION,
  [ErrorCode.ERROR_CODE_INVALID_AUTH_MGMT]: status.FAILED_PRECONDITION,
  // gRPC's code for corrupted data (etcd's too): not retryable, an operator must repair.
  [ErrorCode.ERROR_CODE_CORRUPT]: status.DATA_LOSS,
  [ErrorCode.ERROR_CODE_INTEGER_OUT_OF_RANGE]: status.INVALID_ARGUMENT,
  [ErrorCode.ERROR_CODE_TOO_MANY_SNAPSHOTS]: status.RESOURCE_EXHAUSTED,
  // Deprecated, no longer sent (every engine defragments); kept for the wire's sake.
  [ErrorCode.ERROR_CODE_DEFRAGMENT_UNSUPPORTED]: status.FAILED_PRECONDITION,
  // etcd's ErrGRPCNoSpace: the space is used up until an operator frees some.
  [ErrorCode.ERROR_CODE_NO_SPACE]: status.RESOURCE_EXHAUSTED,
};

/** The type URL of an ErrorInfo packed in an Any, as every protobuf runtime spells it. */
export const ERROR_INFO_TYPE_URL = `type.googleapis.com/${protobufPackage}.ErrorInfo`;

/** The trailer in which gRPC carries rich status details (a serialized google.rpc.Status). */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

export function grpcStatusOf(code: DomainErrorCode): status {
  return STATUS_BY_CODE[code];
}

/** The status a domain error ends a call or a watch with: code, message and its ErrorInfo. */
export function rpcStatusOf(err: CairnError): RpcStatus {
  const info = ErrorInfo.encode({ code: err.code, compactRevision: err.compactRevision }).finish();
  return { code: grpcStatusOf(err.code), message: err.message, details: [{ typeUrl: ERROR_INFO_TYPE_URL, value: Buffer.from(info) }] };
}

/**
 * Turns any error into the ServiceError a call or stream ends with. A CairnError carries its
 * RpcStatus in grpc-status-details-bin; anything else becomes INTERNAL without leaking details.
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof CairnError) {
    const rpcStatus = rpcStatusOf(err);
    const metadata = new Metadata();
    metadata.set(STATUS_DETAILS_KEY, Buffer.from(RpcStatus.encode(rpcStatus).finish()));
    return { code: rpcStatus.code, details: rpcStatus.message, metadata };
  }
  return { code: status.INTERNAL, details: 'internal error; see the server log' };
}
