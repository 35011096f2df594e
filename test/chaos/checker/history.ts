/**
 * The recorded history of a chaos run: every client operation with its invoke and complete
 * time and outcome. Keys and values are strings; every written value is unique in a run, so
 * a value read names the one write that produced it (and so the lease it was attached to).
 * Lease ids are chosen by the clients and never reused in a run, so an op whose outcome is
 * unknown still names its lease.
 */

/**
 * Keys written only by lease puts (`lput`): a lease's expiry deletes them without any client
 * op, so they are checked by the lease model (lease-check.ts) and the revision history, not
 * by the single-register search. No client deletes them.
 */
export const LEASE_KEY_PREFIX = 'kl';
export const isLeaseKey = (key: string): boolean => key.startsWith(LEASE_KEY_PREFIX);

/** ok: the response arrived; failed: definitely not applied; unknown: may or may not have applied. */
export type Outcome = 'ok' | 'failed' | 'unknown';

export type Call =
  | { readonly f: 'put'; readonly key: string; readonly value: string }
  /** A read: linearizable unless serializable (a stale read served by the member itself). */
  | { readonly f: 'get'; readonly key: string; readonly serializable: boolean }
  | { readonly f: 'delete'; readonly key: string }
  /** Txn: if value(key) == expected (version == 0 when expected is null) then put(key, value). */
  | { readonly f: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string }
  /** Txn putting several keys at once (one revision), on lease keys attached to `lease`. */
  | { readonly f: 'mput'; readonly kvs: readonly (readonly [string, string])[]; readonly lease?: number }
  /** Txn reading several keys at once (one snapshot). */
  | { readonly f: 'mget'; readonly keys: readonly string[] }
  /** Grant a lease with the id the client chose and a TTL in seconds (the server may raise it). */
  | { readonly f: 'grant'; readonly lease: number; readonly ttl: number }
  /** Put on a lease key, attached to `lease` (0: to none, which detaches the key). */
  | { readonly f: 'lput'; readonly key: string; readonly value: string; readonly lease: number }
  | { readonly f: 'revoke'; readonly lease: number }
  /** One renewal on the client's keep-alive stream. */
  | { readonly f: 'keepalive'; readonly lease: number };

/** What an ok operation answered; the kind follows the call's. */
export type Result =
  | { readonly f: 'put' }
  | { readonly f: 'get'; readonly value: string | null; readonly modRevision: number }
  | { readonly f: 'delete'; readonly deleted: number }
  | { readonly f: 'cas'; readonly succeeded: boolean }
  | { readonly f: 'mput' }
  | { readonly f: 'mget'; readonly values: readonly (string | null)[] }
  | { readonly f: 'grant'; readonly ttl: number }
  | { readonly f: 'lput' }
  | { readonly f: 'revoke' }
  /**
   * ttl <= 0: the lease is gone. Answered by the leader without a log entry, so its header
   * revision is kept here, not as the op's revision: it is no fact about the log's order.
   */
  | { readonly f: 'keepalive'; readonly ttl: number; readonly headerRevision: number };

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
    case 'grant':
    case 'revoke':
    case 'keepalive':
      return [];
    default:
      return [call.key];
  }
}

/** True for calls that may change the store (a keep-alive changes only a lease's deadline). */
export const isWrite = (call: Call): boolean => call.f !== 'get' && call.f !== 'mget' && call.f !== 'keepalive';

/** One line describing an op, for reports. */
export function describe(op: Op): string {
  const rev = op.revision === undefined ? '' : ` @rev ${op.revision}`;
  return `#${op.id} c${op.client}@${op.member} ${op.call.f} ${argsOf(op.call)}${resultOf(op.result)} [${op.outcome}${op.error ? ` ${op.error}` : ''}${rev}] ${(op.invoke / 1000).toFixed(1)}..${(op.complete / 1000).toFixed(1)} ms`;
}

function argsOf(c: Call): string {
  switch (c.f) {
    case 'put':
      return `${c.key}=${c.value}`;
    case 'get':
      return `${c.key}${c.serializable ? ' (serializable)' : ''}`;
    case 'delete':
      return c.key;
    case 'cas':
      return `${c.key} ${c.expected ?? 'nil'}->${c.value}`;
    case 'mput':
      return `${c.kvs.map(([k, v]) => `${k}=${v}`).join(',')}${c.lease === undefined ? '' : ` lease ${c.lease}`}`;
    case 'mget':
      return c.keys.join(',');
    case 'grant':
      return `lease ${c.lease} ttl ${c.ttl}`;
    case 'lput':
      return `${c.key}=${c.value} lease ${c.lease}`;
    case 'revoke':
    case 'keepalive':
      return `lease ${c.lease}`;
  }
}

function resultOf(r: Result | undefined): string {
  switch (r?.f) {
    case undefined:
      return '';
    case 'get':
      return ` -> ${r.value ?? 'nil'}`;
    case 'delete':
      return ` -> deleted ${r.deleted}`;
    case 'cas':
      return ` -> ${r.succeeded ? 'ok' : 'fail'}`;
    case 'mget':
      return ` -> ${r.values.map((v) => v ?? 'nil').join(',')}`;
    case 'grant':
      return ` -> ttl ${r.ttl}`;
    case 'keepalive':
      return ` -> ttl ${r.ttl} (header rev ${r.headerRevision})`;
    default:
      return '';
  }
}
