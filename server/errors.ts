/**
 * Domain errors. Every failure a client can cause has a code here; server/api/errors.ts maps
 * each code to one gRPC status. Broken invariants are not CairnErrors: they crash.
 */
export const ErrorCode = {
  EmptyKey: 'EMPTY_KEY',
  KeyTooLarge: 'KEY_TOO_LARGE',
  ValueTooLarge: 'VALUE_TOO_LARGE',
  RequestTooLarge: 'REQUEST_TOO_LARGE',
  TooManyTxnOps: 'TOO_MANY_TXN_OPS',
  InvalidArgument: 'INVALID_ARGUMENT',
  Compacted: 'COMPACTED',
  FutureRevision: 'FUTURE_REVISION',
  LeaseNotFound: 'LEASE_NOT_FOUND',
  KeyNotFound: 'KEY_NOT_FOUND',
  TooManyWatches: 'TOO_MANY_WATCHES',
  TooManyWatchStreams: 'TOO_MANY_WATCH_STREAMS',
  DuplicateWatchId: 'DUPLICATE_WATCH_ID',
  Stopping: 'STOPPING',
  NoLeader: 'NO_LEADER',
  Timeout: 'TIMEOUT',
  LeaderChanged: 'LEADER_CHANGED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class CairnError extends Error {
  override readonly name = 'CairnError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function compactedError(requested: number, compacted: number): CairnError {
  return new CairnError(ErrorCode.Compacted, `revision ${requested} has been compacted; the oldest available revision is ${compacted}`);
}

export function futureRevisionError(requested: number, current: number): CairnError {
  return new CairnError(ErrorCode.FutureRevision, `revision ${requested} is in the future; the current revision is ${current}`);
}
