/**
 * The recorded history of a chaos run: every client operation with its invoke and complete
 * time and outcome. Keys and values are strings; every written value is unique in a run, so
 * a value read names the one write that produced it.
 */

/** ok: the response arrived; failed: definitely not applied; unknown: may or may not have applied. */
export type Outcome = 'ok' | 'failed' | 'unknown';

export type Call =
  | { readonly f: 'put'; readonly key: string; readonly value: string }
  /** A read: linearizable unless serializable (a stale read served by the member itself). */
  | { readonly f: 'get'; readonly key: string; readonly serializable: boolean }
  | { readonly f: 'delete'; readonly key: string }
  /** Txn: if value(key) == expected (version == 0 when expected is null) then put(key, value). */
  | { readonly f: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string }
  /** Txn putting several keys at once (one revision). */
  | { readonly f: 'mput'; readonly kvs: readonly (readonly [string, string])[] }
  /** Txn reading several keys at once (one snapshot). */
  | { readonly f: 'mget'; readonly keys: readonly string[] };

/** What an ok operation answered; the kind follows the call's. */
export type Result =
  | { readonly f: 'put' }
  | { readonly f: 'get'; readonly value: string | null; readonly modRevision: number }
  | { readonly f: 'delete'; readonly deleted: number }
  | { readonly f: 'cas'; readonly succeeded: boolean }
  | { readonly f: 'mput' }
  | { readonly f: 'mget'; readonly values: readonly (string | null)[] };

export interface Op {
  readonly id: number;
  readonly client: number;
  /** Name of the member the request was sent to. */
  readonly member: string;
  readonly call: Call;
  /** Microseconds since the run began (process.hrtime). */
  readonly invoke: number;
  readonly complete: number;
  readonly outcome: Outcome;
  /** Set when outcome is ok. */
  readonly result?: Result;
  /** Response header revision, when ok. */
  readonly revision?: number;
  /** gRPC status name and details, when not ok. */
  readonly error?: string;
}

/** Keys an operation touches. */
export function keysOf(call: Call): readonly string[] {
  switch (call.f) {
    case 'mput':
      return call.kvs.map(([k]) => k);
    case 'mget':
      return call.keys;
    default:
      return [call.key];
  }
}

/** True for calls that may change the store. */
export const isWrite = (call: Call): boolean => call.f !== 'get' && call.f !== 'mget';

/** One line describing an op, for reports. */
export function describe(op: Op): string {
  const c = op.call;
  const args =
    c.f === 'put'
      ? `${c.key}=${c.value}`
      : c.f === 'get'
        ? `${c.key}${c.serializable ? ' (serializable)' : ''}`
        : c.f === 'delete'
          ? c.key
          : c.f === 'cas'
            ? `${c.key} ${c.expected ?? 'nil'}->${c.value}`
            : c.f === 'mput'
              ? c.kvs.map(([k, v]) => `${k}=${v}`).join(',')
              : c.keys.join(',');
  const r = op.result;
  const res =
    r === undefined
      ? ''
      : r.f === 'get'
        ? ` -> ${r.value ?? 'nil'}`
        : r.f === 'delete'
          ? ` -> deleted ${r.deleted}`
          : r.f === 'cas'
            ? ` -> ${r.succeeded ? 'ok' : 'fail'}`
            : r.f === 'mget'
              ? ` -> ${r.values.map((v) => v ?? 'nil').join(',')}`
              : '';
  const rev = op.revision === undefined ? '' : ` @rev ${op.revision}`;
  return `#${op.id} c${op.client}@${op.member} ${c.f} ${args}${res} [${op.outcome}${op.error ? ` ${op.error}` : ''}${rev}] ${(op.invoke / 1000).toFixed(1)}..${(op.complete / 1000).toFixed(1)} ms`;
}
