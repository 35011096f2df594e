import type { CompactResponse, DeleteRangeResponse, PutResponse, TxnResponse } from '../../gen/ts/cairn/v1/kv.js';
import type { LeaseGrantResponse, LeaseRevokeResponse } from '../../gen/ts/cairn/v1/lease.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { CairnError } from '../errors.js';

export type HeaderFactory = (revision: number) => ResponseHeader;

/** The response a command produced, or the domain error that made it change nothing. */
export type CommandOutcome =
  | {
      readonly ok: true;
      readonly response: PutResponse | DeleteRangeResponse | TxnResponse | CompactResponse | LeaseGrantResponse | LeaseRevokeResponse;
    }
  | { readonly ok: false; readonly error: CairnError };
