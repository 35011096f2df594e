/**
 * CairnError: every failure the SDK reports. It keeps the gRPC status (number and name)
 * and the server's domain code (the generated cairn.v1.ErrorCode, read from the ErrorInfo
 * in the status details), which is what decides whether a request may be retried.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, ErrorInfo, RpcStatus, errorCodeToJSON, protobufPackage } from '../gen/cairn/v1/errors.js';

export { ErrorCode };

/** The trailer in which gRPC carries rich status details: a serialized google.rpc.Status (RpcStatus). */
const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const ERROR_INFO_TYPE_URL = `type.googleapis.com/${protobufPackage}.ErrorInfo`;

export interface CairnErrorInit {
  code: status;
  message: string;
  cairnCode?: ErrorCode | undefined;
  /** With ERROR_CODE_COMPACTED, the oldest revision still available. */
  compactRevision?: bigint | undefined;
  /** The member that answered (or failed to), when known. */
  endpoint?: string | undefined;
  /** True when the request certainly never reached a member (no connection). */
  notSent?: boolean | undefined;
  cause?: unknown;
}

export class CairnError extends Error {
  override readonly name: string = 'CairnError';
  /** gRPC status number, e.g. 11 for OUT_OF_RANGE. */
  readonly code: status;
  /** gRPC status name, e.g. 'OUT_OF_RANGE'. */
  readonly codeName: string;
  /** The server's domain code (from the ErrorInfo in the status details), when it sent one. */
  readonly cairnCode: ErrorCode | undefined;
  /** With ERROR_CODE_COMPACTED, the oldest revision still available; otherwise undefined. */
  readonly compactRevision: bigint | undefined;
  readonly endpoint: string | undefined;
  readonly notSent: boolean;

  constructor(init: CairnErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.codeName = status[init.code] ?? `STATUS_${init.code}`;
    this.cairnCode = init.cairnCode;
    this.compactRevision = init.compactRevision;
    this.endpoint = init.endpoint;
    this.notSent = init.notSent ?? false;
  }

  /** The name of the server's domain code, e.g. 'ERROR_CODE_COMPACTED'; undefined without one. */
  get cairnCodeName(): string | undefined {
    return this.cairnCode === undefined ? undefined : errorCodeToJSON(this.cairnCode);
  }

  /** The requested revision was compacted away (reads at a revision, watches). */
  get isCompacted(): boolean {
    return this.cairnCode === ErrorCode.ERROR_CODE_COMPACTED;
  }

  /** The requested revision is newer than the store's. */
  get isFutureRevision(): boolean {
    return this.cairnCode === ErrorCode.ERROR_CODE_FUTURE_REVISION;
  }

  /** The member had no leader, or was stopping: the request was not applied. */
  get isNotApplied(): boolean {
    return this.notSent || this.cairnCode === ErrorCode.ERROR_CODE_NO_LEADER || this.cairnCode === ErrorCode.ERROR_CODE_STOPPING;
  }

  /** The outcome of a write is unknown: it may or may not have been applied. */
  get isOutcomeUnknown(): boolean {
    if (this.isNotApplied) return false;
    return (
      this.cairnCode === ErrorCode.ERROR_CODE_TIMEOUT ||
      this.cairnCode === ErrorCode.ERROR_CODE_LEADER_CHANGED ||
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

/**
 * Authentication is on and the caller's roles do not allow the call (a key or range
 * outside its permissions, or an operation that needs root). Not retried.
 */
export class PermissionDeniedError extends CairnError {
  override readonly name: string = 'PermissionDeniedError';
}

/**
 * The client could not prove who it is: a wrong user or password (ERROR_CODE_AUTH_FAILED),
 * no credentials while authentication is on (ERROR_CODE_AUTH_REQUIRED), or a token still
 * refused after authenticating again (ERROR_CODE_INVALID_AUTH_TOKEN).
 */
export class AuthenticationError extends CairnError {
  override readonly name: string = 'AuthenticationError';
}

const AUTHENTICATION_CODES = new Set<ErrorCode>([
  ErrorCode.ERROR_CODE_AUTH_FAILED,
  ErrorCode.ERROR_CODE_AUTH_REQUIRED,
  ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN,
]);

/** The CairnError, or its typed subclass, that the server's domain code stands for. */
function makeError(init: CairnErrorInit): CairnError {
  if (init.cairnCode === ErrorCode.ERROR_CODE_PERMISSION_DENIED) return new PermissionDeniedError(init);
  if (init.cairnCode !== undefined && AUTHENTICATION_CODES.has(init.cairnCode)) return new AuthenticationError(init);
  return new CairnError(init);
}

/** grpc-js reports a call that never got a connection with this text (pick-first LB). */
const NEVER_CONNECTED = /No connection established|ECONNREFUSED|Failed to connect/i;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/** The ErrorInfo among a status's details, if any. */
function errorInfoOf(rpcStatus: RpcStatus): ErrorInfo | undefined {
  const detail = rpcStatus.details.find((d) => d.typeUrl === ERROR_INFO_TYPE_URL);
  return detail === undefined ? undefined : ErrorInfo.decode(detail.value);
}

/** The domain fields of an ErrorInfo, as CairnErrorInit takes them. */
function domainFields(info: ErrorInfo | undefined): Pick<CairnErrorInit, 'cairnCode' | 'compactRevision'> {
  if (info === undefined || info.code === ErrorCode.ERROR_CODE_UNSPECIFIED) return {};
  return { cairnCode: info.code, compactRevision: info.compactRevision > 0n ? info.compactRevision : undefined };
}

/** The status details a failed call carried in grpc-status-details-bin, if any (and if they decode). */
function statusDetailsOf(err: ServiceError): RpcStatus | undefined {
  const raw = err.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (raw === undefined || typeof raw === 'string') return undefined;
  try {
    return RpcStatus.decode(raw);
  } catch {
    return undefined; // Not ours to judge: the call's status still stands.
  }
}

/** The error a status from the server stands for: a failed call's, or a watch's cancel_status. */
export function fromRpcStatus(rpcStatus: RpcStatus, endpoint?: string): CairnError {
  return makeError({ code: rpcStatus.code, message: rpcStatus.message, endpoint, ...domainFields(errorInfoOf(rpcStatus)) });
}

/** Wraps anything a gRPC call threw into a CairnError. */
export function toCairnError(err: unknown, endpoint?: string): CairnError {
  if (err instanceof CairnError) return err;
  if (isServiceError(err)) {
    const details = statusDetailsOf(err);
    const domain = domainFields(details === undefined ? undefined : errorInfoOf(details));
    return makeError({
      code: err.code,
      message: err.details || err.message,
      ...domain,
      endpoint,
      notSent: err.code === status.UNAVAILABLE && domain.cairnCode === undefined && NEVER_CONNECTED.test(err.details),
      cause: err,
    });
  }
  return new CairnError({ code: status.UNKNOWN, message: err instanceof Error ? err.message : String(err), endpoint, cause: err });
}
