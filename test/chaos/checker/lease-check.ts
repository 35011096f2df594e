/**
 * The lease model, checked against the committed revision history. The leader decides when
 * a lease expires, so nothing here assumes an expiry time; only facts ordered by revision
 * (and, for an acknowledged revoke, by real time) are used:
 *
 * - A value names the lease its put attached it to (values are unique), so replaying the
 *   history tells which keys each lease holds at every revision. No client deletes a lease
 *   key, so every deletion of one is its lease's end: the lease's death revision D is the
 *   first revision that deletes one of its keys.
 * - At D, every key the lease held is deleted: all of them at that one revision (watchers
 *   see the same revision in one response: watch-check.ts).
 * - A lease is dead from D, or from the header revision of a revoke that answered ok,
 *   whichever is lower: no value attached to it is written at or after that revision, no
 *   key attached to it is left at the revoke's revision, and no read at a revision at or
 *   after it returns one of its values.
 * - A linearizable read that began after a revoke answered ok never returns a value
 *   attached to the revoked lease, and a put attaching a key to it afterwards never
 *   succeeds.
 * - When every lease has ended (the run waits for that at the end), no key is attached to a
 *   lease at the final revision.
 *
 * Unknown outcomes need no special case: an unknown put either appears in the history (and
 * its value names its lease) or not; an unknown revoke gives no fact. Keep-alive answers
 * are not used: the leader answers them from its own clock, without the log.
 */
import { describe, isLeaseKey, type Op } from './history.js';
import type { RevEvent, RevisionHistory } from './revision-history.js';

export interface LeaseCheckOptions {
  /** Every lease of the run had ended by the final revision (checked by the harness). */
  readonly allLeasesEnded: boolean;
}

const MAX_PROBLEMS = 20;

/** The values an op writes to lease keys, with the lease each is attached to (0: none). */
function leaseValues(op: Op): [string, number][] {
  const c = op.call;
  if (c.f === 'lput') return [[c.value, c.lease]];
  if (c.f === 'mput' && c.lease !== undefined) return c.kvs.map(([, v]) => [v, c.lease!]);
  return [];
}

/** What the run exercised: leases granted, deaths seen in the history, keys they deleted. */
export function describeLeases(history: readonly Op[], rh: RevisionHistory): string {
  const leaseOf = new Map<string, number>();
  for (const op of history) for (const [value, lease] of leaseValues(op)) leaseOf.set(value, lease);
  const death = replay(
    rh,
    (v) => (v === null ? 0 : (leaseOf.get(v) ?? 0)),
    new Map(),
    () => undefined,
  );
  const deleted = rh.events.filter((e) => isLeaseKey(e.key) && e.value === null).length;
  const count = (f: string, outcome: string): number => history.filter((o) => o.call.f === f && o.outcome === outcome).length;
  return (
    `${count('grant', 'ok')} grants ok (${count('grant', 'unknown')} unknown), ${death.size} leases ended holding keys ` +
    `(${deleted} keys deleted with them), ${count('revoke', 'ok')} revokes ok, ${count('lput', 'ok')} lease puts ok`
  );
}

export function checkLeases(history: readonly Op[], rh: RevisionHistory, options: LeaseCheckOptions): string[] {
  const problems: string[] = [];
  const add = (msg: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(msg);
  };

  /** The lease each value written to a lease key was attached to (0: none). */
  const leaseOf = new Map<string, number>();
  for (const op of history) for (const [value, lease] of leaseValues(op)) leaseOf.set(value, lease);
  const attachedTo = (value: string | null): number => (value === null ? 0 : (leaseOf.get(value) ?? 0));

  /** Per lease: the ok revoke with the lowest header revision, and the one that answered first. */
  const revokedAt = new Map<number, Op>();
  const revokedFirst = new Map<number, Op>();
  for (const op of history)
    if (op.call.f === 'revoke' && op.outcome === 'ok' && op.revision !== undefined) {
      const lowest = revokedAt.get(op.call.lease);
      if (lowest === undefined || lowest.revision! > op.revision) revokedAt.set(op.call.lease, op);
      const first = revokedFirst.get(op.call.lease);
      if (first === undefined || first.complete > op.complete) revokedFirst.set(op.call.lease, op);
    }

  const death = replay(rh, attachedTo, revokedAt, add);
  const deadFrom = (lease: number): number => Math.min(death.get(lease) ?? Infinity, revokedAt.get(lease)?.revision ?? Infinity);

  // Nothing of a revoked lease is left at its revoke's revision.
  const leaseKeys = [...new Set(rh.events.filter((e) => isLeaseKey(e.key)).map((e) => e.key))];
  for (const [lease, op] of revokedAt)
    for (const key of leaseKeys) {
      const value = rh.valueAt(key, op.revision!);
      if (attachedTo(value) === lease)
        add(`lease ${lease} was revoked at revision ${op.revision}, yet ${key}=${value} is attached to it there: ${describe(op)}`);
    }

  // Reads at or after a lease's death never see its values.
  for (const op of history) {
    const c = op.call;
    const r = op.result;
    if (op.outcome !== 'ok' || op.revision === undefined || c.f !== 'get' || r?.f !== 'get' || r.value === null) continue;
    const lease = attachedTo(r.value);
    if (lease !== 0 && op.revision >= deadFrom(lease))
      add(`a read at revision ${op.revision} returned a key of lease ${lease}, dead from revision ${deadFrom(lease)}: ${describe(op)}`);
  }

  // In real time: after a revoke answered ok, no linearizable read sees the lease's keys and
  // no put attaches a key to it.
  for (const op of history) {
    const c = op.call;
    const r = op.result;
    if (op.outcome !== 'ok') continue;
    const lease =
      c.f === 'lput' || c.f === 'mput' ? (c.lease ?? 0) : c.f === 'get' && !c.serializable && r?.f === 'get' ? attachedTo(r.value) : 0;
    const revoke = lease === 0 ? undefined : revokedFirst.get(lease);
    if (revoke !== undefined && revoke.complete < op.invoke)
      add(
        `${c.f !== 'get' ? 'a put attached a key to' : 'a linearizable read saw a key of'} lease ${lease} after its revoke answered:\n  ${describe(revoke)}\n  ${describe(op)}`,
      );
  }

  if (options.allLeasesEnded)
    for (const key of leaseKeys) {
      const value = rh.valueAt(key, rh.lastRevision);
      const lease = attachedTo(value);
      if (lease !== 0)
        add(`every lease has ended, yet ${key}=${value} is still attached to lease ${lease} at the final revision ${rh.lastRevision}`);
    }
  return problems;
}

/**
 * Replays the lease keys' events in revision order. Returns each lease's death revision (the
 * revision deleting its keys) and reports deletions that are not a whole lease's keys at
 * once, keys of a lease deleted at two revisions, deletions of keys attached to no lease,
 * and values attached to a lease written at or after its death (or its acknowledged revoke).
 */
function replay(
  rh: RevisionHistory,
  attachedTo: (value: string | null) => number,
  revokedAt: ReadonlyMap<number, Op>,
  add: (msg: string) => void,
): Map<number, number> {
  const death = new Map<number, number>();
  const current = new Map<string, string | null>();
  const keysOf = (lease: number): string[] => [...current].filter(([, v]) => attachedTo(v) === lease).map(([k]) => k);
  const revisions = [...rh.byRevision.keys()].sort((a, b) => a - b);
  for (const rev of revisions) {
    const events = rh.byRevision.get(rev)!.filter((e) => isLeaseKey(e.key));
    if (events.length === 0) continue;
    const deleted = new Map<number, RevEvent[]>();
    for (const e of events) {
      if (e.value !== null) {
        const lease = attachedTo(e.value);
        const dead = Math.min(death.get(lease) ?? Infinity, revokedAt.get(lease)?.revision ?? Infinity);
        if (lease !== 0 && rev >= dead)
          add(`${e.key}=${e.value} attached to lease ${lease} at revision ${rev}, but the lease was dead from revision ${dead}`);
        continue;
      }
      const lease = attachedTo(current.get(e.key) ?? null);
      if (lease === 0) {
        add(`${e.key} was deleted at revision ${rev}, but no client deletes lease keys and it was attached to no lease`);
        continue;
      }
      const list = deleted.get(lease);
      if (list) list.push(e);
      else deleted.set(lease, [e]);
    }
    for (const [lease, dels] of deleted) {
      const earlier = death.get(lease);
      if (earlier !== undefined) {
        add(`keys of lease ${lease} were deleted at two revisions, ${earlier} and ${rev} (${dels.map((e) => e.key).join(',')})`);
        continue;
      }
      death.set(lease, rev);
      const gone = new Set(dels.map((e) => e.key));
      const left = keysOf(lease).filter((k) => !gone.has(k));
      if (left.length > 0)
        add(
          `lease ${lease} ended at revision ${rev} deleting ${[...gone].join(',')}, but its keys ${left.map((k) => `${k}=${current.get(k)}`).join(',')} were left`,
        );
    }
    for (const e of events) current.set(e.key, e.value);
  }
  return death;
}
