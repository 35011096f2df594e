/**
 * Domain errors. Every failure a client can cause has a code in cairn.v1.ErrorCode
 * (proto/cairn/v1/errors.proto), the one definition shared with the SDKs; server/api/errors.ts
 * maps each code to one gRPC status. Broken invariants are not CairnErrors: they crash
 * (server/invariant.ts).
 */
import { ErrorCode } from '../gen/ts/cairn/v1/errors.js';

export { ErrorCode };

/** The codes a CairnError carries: every ErrorCode but the zero value and ts-proto's UNRECOGNIZED. */
export type DomainErrorCode = Exclude<ErrorCode, ErrorCode.ERROR_CODE_UNSPECIFIED | ErrorCode.UNRECOGNIZED>;

export class CairnError extends Error {
  override readonly name = 'CairnError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** With ERROR_CODE_COMPACTED, the oldest revision still available (ErrorInfo.compact_revision); 0 otherwise. */
    readonly compactRevision = 0,
  ) {
    super(message);
  }
}

export function compactedError(requested: number, compacted: number): CairnError {
  return new CairnError(
    ErrorCode.ERROR_CODE_COMPACTED,
    `revision ${requested} has been compacted; the oldest available revision is ${compacted}`,
    compacted,
  );
}

export function futureRevisionError(requested: number, current: number): CairnError {
  return new CairnError(ErrorCode.ERROR_CODE_FUTURE_REVISION, `revision ${requested} is in the future; the current revision is ${current}`);
}
