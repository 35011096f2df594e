import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../errors.js';

/** The one table from domain error codes to gRPC status codes. */
const STATUS_BY_CODE: Record<ErrorCode, status> = {
  [ErrorCode.EmptyKey]: status.INVALID_ARGUMENT,
  [ErrorCode.KeyTooLarge]: status.INVALID_ARGUMENT,
  [ErrorCode.ValueTooLarge]: status.INVALID_ARGUMENT,
  [ErrorCode.InvalidArgument]: status.INVALID_ARGUMENT,
  [ErrorCode.RequestTooLarge]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.TooManyTxnOps]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.TooManyWatches]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.TooManyWatchStreams]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.DuplicateWatchId]: status.ALREADY_EXISTS,
  // etcd answers OUT_OF_RANGE for both; clients already know to look for it.
  [ErrorCode.Compacted]: status.OUT_OF_RANGE,
  [ErrorCode.FutureRevision]: status.OUT_OF_RANGE,
  [ErrorCode.LeaseNotFound]: status.NOT_FOUND,
  [ErrorCode.KeyNotFound]: status.NOT_FOUND,
  [ErrorCode.Stopping]: status.UNAVAILABLE,
  // Both are safe to retry on another member; a timed-out write may still have applied.
  [ErrorCode.NoLeader]: status.UNAVAILABLE,
  [ErrorCode.Timeout]: status.UNAVAILABLE,
  [ErrorCode.LeaderChanged]: status.UNAVAILABLE,
};

export function grpcStatusOf(code: ErrorCode): status {
  return STATUS_BY_CODE[code];
}

/** Turns any error into a ServiceError; unknown errors become INTERNAL without leaking details. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof CairnError) {
    const metadata = new Metadata();
    metadata.set('cairn-error-code', err.code);
    return { code: grpcStatusOf(err.code), details: err.message, metadata };
  }
  return { code: status.INTERNAL, details: 'internal error; see the server log' };
}
