/**
 * Linearizability of a KV history, checked per key (P-compositionality: a history is
 * linearizable iff its projection on every key is). Multi-key operations are projected onto
 * each key they touch (mput as puts, mget as reads); their atomicity across keys is not
 * provable this way and is checked against the revision history (revision-history.ts).
 * Serializable reads are not linearizable by contract and are left out here. Lease keys
 * change without any client op (an expiry deletes them), so they and the lease ops are left
 * to the lease model (lease-check.ts) and the revision history's real-time order.
 */
import { checkRegister, type RegOp, type RegState, type SearchResult } from './wgl.js';
import { describe, isLeaseKey, type Op } from './history.js';

export type Verdict = 'linearizable' | 'not-linearizable' | 'undecided';

export interface KeyReport {
  readonly key: string;
  readonly ops: number;
  readonly result: SearchResult;
}

export interface LinearizabilityReport {
  readonly verdict: Verdict;
  readonly keys: readonly KeyReport[];
  readonly ms: number;
  /** For a non-linearizable key: the ops that could not be placed, described. */
  readonly explanation: string;
}

export interface CheckOptions {
  /** Most search steps per key. */
  readonly maxStepsPerKey?: number;
  /** Total wall-clock budget. */
  readonly timeoutMs?: number;
}

/** Stands for every value that no read or compare ever observes: they behave alike. */
const UNSEEN = '\u0001unseen';

interface KeyOp {
  readonly op: Op;
  readonly kind: 'put' | 'get' | 'delete' | 'cas';
  readonly value?: string | null;
  readonly expected?: string | null;
  readonly deleted?: number;
  readonly succeeded?: boolean;
}

/** Splits the history into per-key single-register operations. */
function project(history: readonly Op[]): Map<string, KeyOp[]> {
  const byKey = new Map<string, KeyOp[]>();
  const add = (key: string, k: KeyOp): void => {
    const list = byKey.get(key);
    if (list) list.push(k);
    else byKey.set(key, [k]);
  };
  for (const op of history) {
    if (op.outcome === 'failed') continue; // definitely not applied
    const c = op.call;
    const r = op.outcome === 'ok' ? op.result : undefined;
    switch (c.f) {
      case 'put':
        add(c.key, { op, kind: 'put', value: c.value });
        break;
      case 'mput':
        for (const [key, value] of c.kvs) if (!isLeaseKey(key)) add(key, { op, kind: 'put', value });
        break;
      case 'get':
        if (!c.serializable && !isLeaseKey(c.key) && r?.f === 'get') add(c.key, { op, kind: 'get', value: r.value });
        break;
      case 'mget':
        if (r?.f === 'mget') c.keys.forEach((key, i) => add(key, { op, kind: 'get', value: r.values[i] ?? null }));
        break;
      case 'delete':
        add(c.key, r?.f === 'delete' ? { op, kind: 'delete', deleted: r.deleted } : { op, kind: 'delete' });
        break;
      case 'cas':
        add(
          c.key,
          r?.f === 'cas'
            ? { op, kind: 'cas', value: c.value, expected: c.expected, succeeded: r.succeeded }
            : { op, kind: 'cas', value: c.value, expected: c.expected },
        );
        break;
      case 'grant':
      case 'lput':
      case 'revoke':
      case 'keepalive':
        break; // lease-check.ts
    }
  }
  return byKey;
}

function toRegOps(keyOps: readonly KeyOp[]): RegOp[] {
  const observed = new Set<string>();
  for (const k of keyOps) {
    if (k.kind === 'get' && k.value != null) observed.add(k.value);
    if (k.kind === 'cas' && k.expected != null) observed.add(k.expected);
  }
  const abs = (v: string | null | undefined): RegState => (v == null ? null : observed.has(v) ? v : UNSEEN);
  return keyOps.map((k, ref): RegOp => {
    const known = k.op.outcome === 'ok';
    const base = { ref, invoke: k.op.invoke, ret: known ? k.op.complete : Infinity };
    const value = abs(k.value);
    const expected = abs(k.expected);
    const signature = known ? undefined : `${k.kind}|${expected}|${value}`;
    const withSig = (step: RegOp['step']): RegOp => (signature === undefined ? { ...base, step } : { ...base, step, signature });
    switch (k.kind) {
      case 'put':
        return withSig(() => value);
      case 'get':
        return withSig((s) => (s === value ? s : undefined));
      case 'delete': {
        const deleted = k.deleted;
        return withSig((s) => (deleted === undefined || deleted === (s === null ? 0 : 1) ? null : undefined));
      }
      case 'cas': {
        const succeeded = k.succeeded;
        if (succeeded === undefined) return withSig((s) => (s === expected ? value : s));
        return withSig((s) => (succeeded ? (s === expected ? value : undefined) : s !== expected ? s : undefined));
      }
    }
  });
}

export function checkLinearizability(history: readonly Op[], options: CheckOptions = {}): LinearizabilityReport {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 60_000);
  const maxSteps = options.maxStepsPerKey ?? 5_000_000;
  const keys: KeyReport[] = [];
  let explanation = '';
  for (const [key, keyOps] of [...project(history)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const result = checkRegister(toRegOps(keyOps), null, { maxSteps, deadline });
    keys.push({ key, ops: keyOps.length, result });
    if (result.kind === 'illegal' && explanation === '') {
      const lines = result.blocking.map((ref) => `  ${describe(keyOps[ref]!.op)}`);
      explanation =
        `key ${key}: after linearizing ${result.linearized} of ${keyOps.length} ops (register then ${result.state ?? 'nil'}), ` +
        `no order explains the first op below; it and the ops pending with it:\n${lines.join('\n')}`;
    }
  }
  const verdict: Verdict = keys.some((k) => k.result.kind === 'illegal')
    ? 'not-linearizable'
    : keys.some((k) => k.result.kind === 'budget')
      ? 'undecided'
      : 'linearizable';
  if (verdict === 'undecided')
    explanation = `could not decide within budget for keys ${keys
      .filter((k) => k.result.kind === 'budget')
      .map((k) => k.key)
      .join(', ')}`;
  return { verdict, keys, ms: Date.now() - started, explanation };
}
