/**
 * CairnError: every failure the SDK reports. It keeps the gRPC status (number and name)
 * and the server's domain code (the `cairn-error-code` trailer), which is what decides
 * whether a request may be retried.
 */
import { status, type ServiceError } from '@grpc/grpc-js';

/** Server domain codes (server/errors.ts); other strings may appear from newer servers. */
export type CairnCode =
  | 'EMPTY_KEY'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'REQUEST_TOO_LARGE'
  | 'TOO_MANY_TXN_OPS'
  | 'INVALID_ARGUMENT'
  | 'COMPACTED'
  | 'FUTURE_REVISION'
  | 'LEASE_NOT_FOUND'
  | 'KEY_NOT_FOUND'
  | 'TOO_MANY_WATCHES'
  | 'TOO_MANY_WATCH_STREAMS'
  | 'DUPLICATE_WATCH_ID'
  | 'STOPPING'
  | 'NO_LEADER'
  | 'TIMEOUT'
  | 'LEADER_CHANGED'
  | (string & {});

export interface CairnErrorInit {
  code: status;
  message: string;
  cairnCode?: CairnCode | undefined;
  /** The member that answered (or failed to), when known. */
  endpoint?: string | undefined;
  /** True when the request certainly never reached a member (no connection). */
  notSent?: boolean | undefined;
  cause?: unknown;
}

export class CairnError extends Error {
  override readonly name = 'CairnError';
  /** gRPC status number, e.g. 11 for OUT_OF_RANGE. */
  readonly code: status;
  /** gRPC status name, e.g. 'OUT_OF_RANGE'. */
  readonly codeName: string;
  /** Server domain code from the `cairn-error-code` trailer, when the server sent one. */
  readonly cairnCode: CairnCode | undefined;
  readonly endpoint: string | undefined;
  readonly notSent: boolean;

  constructor(init: CairnErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.codeName = status[init.code] ?? `STATUS_${init.code}`;
    this.cairnCode = init.cairnCode;
    this.endpoint = init.endpoint;
    this.notSent = init.notSent ?? false;
  }

  /** The requested revision was compacted away (reads at a revision, watches). */
  get isCompacted(): boolean {
    return this.cairnCode === 'COMPACTED';
  }

  /** The requested revision is newer than the store's. */
  get isFutureRevision(): boolean {
    return this.cairnCode === 'FUTURE_REVISION';
  }

  /** The member had no leader, or was stopping: the request was not applied. */
  get isNotApplied(): boolean {
    return this.notSent || this.cairnCode === 'NO_LEADER' || this.cairnCode === 'STOPPING';
  }

  /** The outcome of a write is unknown: it may or may not have been applied. */
  get isOutcomeUnknown(): boolean {
    if (this.isNotApplied) return false;
    return (
      this.cairnCode === 'TIMEOUT' ||
      this.cairnCode === 'LEADER_CHANGED' ||
      this.code === status.DEADLINE_EXCEEDED ||
      this.code === status.UNAVAILABLE
    );
  }

  /** The member could not be reached or cannot serve right now; another member may. */
  get isUnavailable(): boolean {
    return this.code === status.UNAVAILABLE;
  }

  get isInvalidArgument(): boolean {
    return this.code === status.INVALID_ARGUMENT;
  }
}

/** grpc-js reports a call that never got a connection with this text (pick-first LB). */
const NEVER_CONNECTED = /No connection established|ECONNREFUSED|Failed to connect/i;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/** Wraps anything a gRPC call threw into a CairnError. */
export function toCairnError(err: unknown, endpoint?: string): CairnError {
  if (err instanceof CairnError) return err;
  if (isServiceError(err)) {
    const raw = err.metadata?.get('cairn-error-code')[0];
    const cairnCode = raw === undefined ? undefined : raw.toString();
    return new CairnError({
      code: err.code,
      message: err.details || err.message,
      cairnCode,
      endpoint,
      notSent: err.code === status.UNAVAILABLE && cairnCode === undefined && NEVER_CONNECTED.test(err.details),
      cause: err,
    });
  }
  return new CairnError({ code: status.UNKNOWN, message: err instanceof Error ? err.message : String(err), endpoint, cause: err });
}
