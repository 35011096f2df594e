import type { CompactResponse, DeleteRangeResponse, PutResponse, TxnResponse } from '../../gen/ts/cairn/v1/kv.js';
import type { CairnError } from '../errors.js';

/** The response a command produced, or the domain error that made it change nothing. */
export type CommandOutcome =
  | { readonly ok: true; readonly response: PutResponse | DeleteRangeResponse | TxnResponse | CompactResponse }
  | { readonly ok: false; readonly error: CairnError };
