/**
 * Checks against the committed revision history (every event from revision 1, read with a
 * fresh watch at the end of a run): each acknowledged write sits exactly at the revision its
 * response named, multi-key writes are atomic, reads (stale ones too) return the state at
 * the revision they report, values are never invented or applied twice, and revisions never
 * go backwards for a client.
 */
import { describe, type Op } from './history.js';

export interface RevEvent {
  readonly revision: number;
  readonly key: string;
  /** null for a delete. */
  readonly value: string | null;
}

export class RevisionHistory {
  /** Per key: revisions and values of its changes, ascending. */
  private readonly changes = new Map<string, { revs: number[]; values: (string | null)[] }>();
  readonly byRevision = new Map<number, RevEvent[]>();
  readonly lastRevision: number;

  constructor(readonly events: readonly RevEvent[]) {
    for (const e of events) {
      let c = this.changes.get(e.key);
      if (!c) this.changes.set(e.key, (c = { revs: [], values: [] }));
      c.revs.push(e.revision);
      c.values.push(e.value);
      const list = this.byRevision.get(e.revision);
      if (list) list.push(e);
      else this.byRevision.set(e.revision, [e]);
    }
    this.lastRevision = events.at(-1)?.revision ?? 0;
  }

  /** The value of key at revision rev (null when absent). */
  valueAt(key: string, rev: number): string | null {
    const c = this.changes.get(key);
    if (!c) return null;
    let lo = 0;
    let hi = c.revs.length; // first index with revs[i] > rev
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c.revs[mid]! <= rev) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : c.values[lo - 1]!;
  }
}

const MAX_PROBLEMS = 20;

/** Problems found (empty when none); each names the op. */
export function checkAgainstRevisions(history: readonly Op[], rh: RevisionHistory): string[] {
  const problems: string[] = [];
  const add = (msg: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(msg);
  };

  // The history itself: revisions ascend without gaps; every value appears once.
  let prev = 0;
  const seenValue = new Map<string, number>();
  for (const e of rh.events) {
    if (e.revision < prev || (e.revision > prev + 1 && prev !== 0)) add(`revision history goes from ${prev} to ${e.revision}`);
    prev = e.revision;
    if (e.value !== null) {
      const at = seenValue.get(e.value);
      if (at !== undefined) add(`value ${e.value} was written twice: at revisions ${at} and ${e.revision}`);
      seenValue.set(e.value, e.revision);
    }
  }

  const written = new Set<string>();
  for (const op of history) {
    const c = op.call;
    if (c.f === 'put' || c.f === 'cas' || c.f === 'lput') written.add(c.value);
    if (c.f === 'mput') for (const [, v] of c.kvs) written.add(v);
  }
  for (const [value, rev] of seenValue) if (!written.has(value)) add(`revision ${rev} holds ${value}, which no client wrote`);

  const eventAt = (rev: number, key: string): RevEvent | undefined => rh.byRevision.get(rev)?.find((e) => e.key === key);
  const expectAt = (op: Op, key: string, value: string | null): void => {
    const e = eventAt(op.revision!, key);
    if (e === undefined || e.value !== value)
      add(`acknowledged write not at its revision ${op.revision} (found ${e ? (e.value ?? 'delete') : 'nothing'}): ${describe(op)}`);
  };
  const expectState = (op: Op, key: string, value: string | null): void => {
    const actual = rh.valueAt(key, op.revision!);
    if (actual !== value)
      add(`read does not match the state at its revision ${op.revision} (${key} was ${actual ?? 'nil'}): ${describe(op)}`);
  };

  for (const op of history) {
    const c = op.call;
    const r = op.result;
    if (op.outcome === 'failed' || (op.outcome === 'unknown' && c.f === 'mput')) {
      // Not applied, or (mput) applied as a whole: never some keys without the others.
      const values = c.f === 'put' || c.f === 'cas' || c.f === 'lput' ? [c.value] : c.f === 'mput' ? c.kvs.map(([, v]) => v) : [];
      const revs = values.map((v) => seenValue.get(v));
      if (op.outcome === 'failed' && revs.some((x) => x !== undefined)) add(`a write reported as failed was applied: ${describe(op)}`);
      if (op.outcome === 'unknown' && new Set(revs).size !== 1)
        add(`multi-key write applied partly (revisions ${revs.join(',')}): ${describe(op)}`);
      continue;
    }
    if (op.outcome !== 'ok' || op.revision === undefined || r === undefined) continue;
    if (op.revision > rh.lastRevision)
      add(`response revision ${op.revision} is beyond the final revision ${rh.lastRevision}: ${describe(op)}`);
    if (c.f === 'put' || c.f === 'lput') expectAt(op, c.key, c.value);
    else if (c.f === 'mput') for (const [k, v] of c.kvs) expectAt(op, k, v);
    else if (c.f === 'cas' && r.f === 'cas') {
      if (r.succeeded) expectAt(op, c.key, c.value);
      else if (seenValue.has(c.value)) add(`a compare that reported failure was applied: ${describe(op)}`);
    } else if (c.f === 'delete' && r.f === 'delete') {
      if (r.deleted > 0) expectAt(op, c.key, null);
      else expectState(op, c.key, null);
    } else if (c.f === 'get' && r.f === 'get') expectState(op, c.key, r.value);
    else if (c.f === 'mget' && r.f === 'mget') c.keys.forEach((k, i) => expectState(op, k, r.values[i] ?? null));
  }
  return problems;
}

/**
 * Revisions never go backwards: per client over its linearizable ops (a client's ops are
 * sequential), and per client and member over its serializable reads.
 */
export function checkMonotonic(history: readonly Op[]): string[] {
  const problems: string[] = [];
  const last = new Map<string, Op>();
  for (const op of [...history].sort((a, b) => a.complete - b.complete)) {
    if (op.outcome !== 'ok' || op.revision === undefined) continue;
    const stale = op.call.f === 'get' && op.call.serializable;
    const scope = stale ? `c${op.client}@${op.member}` : `c${op.client}`;
    const before = last.get(scope);
    if (before !== undefined && before.revision! > op.revision && problems.length < MAX_PROBLEMS) {
      problems.push(
        `revision went backwards for ${scope}: ${before.revision} then ${op.revision}:\n  ${describe(before)}\n  ${describe(op)}`,
      );
    }
    last.set(scope, op);
  }
  return problems;
}

/**
 * Real-time order of revisions across clients: an op that began after another ended sees
 * at least that op's revision. A linearizable read is served once the member has applied
 * everything committed when it arrived, and a write's header names the revision it applied
 * at or after, so this holds for every ok op except serializable reads (stale by contract)
 * and keep-alives (answered by the leader without the log; they carry no op revision).
 * Lease keys are outside the single-register search (an expiry changes them with no client
 * op); this check is what ties their reads to real time.
 */
export function checkRealTimeOrder(history: readonly Op[]): string[] {
  const problems: string[] = [];
  const ops = history.filter((op) => op.outcome === 'ok' && op.revision !== undefined && !(op.call.f === 'get' && op.call.serializable));
  const byComplete = [...ops].sort((a, b) => a.complete - b.complete);
  const byInvoke = [...ops].sort((a, b) => a.invoke - b.invoke);
  let done = 0;
  let highest: Op | undefined; // the highest revision among ops that completed so far
  for (const op of byInvoke) {
    while (done < byComplete.length && byComplete[done]!.complete < op.invoke) {
      const c = byComplete[done++]!;
      if (highest === undefined || c.revision! > highest.revision!) highest = c;
    }
    if (highest !== undefined && op.revision! < highest.revision! && problems.length < MAX_PROBLEMS)
      problems.push(
        `revision ${op.revision} of an op that began after another ended at revision ${highest.revision}:\n  ${describe(highest)}\n  ${describe(op)}`,
      );
  }
  return problems;
}
