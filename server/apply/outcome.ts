import type { CompactResponse, DeleteRangeResponse, PutResponse, TxnResponse } from '../../gen/ts/cairn/v1/kv.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { CairnError } from '../errors.js';

/** What an auth change answers: every AuthService write response is a header alone. */
export interface AuthChangeResponse {
  header: ResponseHeader | undefined;
}

/** The response a command produced, or the domain error that made it change nothing. */
export type CommandOutcome =
  | { readonly ok: true; readonly response: PutResponse | DeleteRangeResponse | TxnResponse | CompactResponse | AuthChangeResponse }
  | { readonly ok: false; readonly error: CairnError };
