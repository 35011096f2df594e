import type { LeaseRemaining } from '../../gen/ts/cairn/internal/v1/command.js';
import type { Lease, LeaseTable } from '../mvcc/lease-table.js';
import type { LeaseOutcome } from './lease-applier.js';

export interface LessorOptions {
  /** The store's lease table (a function: a snapshot install replaces it). */
  readonly table: () => LeaseTable;
  /** Whether this member leads, and in which term (RaftDriver.status()). */
  readonly role: () => { readonly leader: boolean; readonly term: number };
  /** A monotonic clock in ms (performance.now() in production; a test's own clock in tests). */
  readonly now: () => number;
  /**
   * Added to every lease's remaining time when this member becomes leader: at least one
   * election timeout, so that a lease whose holder was cut off by the election (its
   * keep-alives went to the old leader, or nowhere) does not expire at once.
   */
  readonly promotionExtensionMs: number;
  /** How often remaining TTLs are checkpointed through the log. */
  readonly checkpointIntervalMs: number;
  /** Most leases in one expiry or checkpoint command, so one log entry stays small. */
  readonly maxBatch: number;
  /** After this long an expiry proposal that did not apply is proposed again. */
  readonly expiryRetryMs: number;
}

/** A lease's time to live as the leader sees it. */
export interface LeaseTtl {
  /** Remaining, in whole seconds rounded up (0 once expired, until the expiry is applied). */
  readonly ttl: number;
  readonly grantedTtl: number;
}

/**
 * The leader's clock-side of leases, in the manner of etcd's lessor: it knows each lease's
 * deadline on a monotonic clock, renews leases (keep-alives cost no log entry), and says
 * which leases expired and which remaining TTLs to checkpoint; the caller proposes those
 * through the log (lessor-loop.ts), and the applier changes the replicated lease table.
 *
 * Only the leader keeps deadlines. When this member becomes leader (or starts a new term
 * as leader), every lease's deadline is set from its last checkpointed remaining TTL (its
 * full TTL if never checkpointed) plus promotionExtensionMs, so no lease is reset to its full
 * TTL on a leader change, and none expires during the handover. On losing leadership the
 * deadlines are dropped. No timers here: the clock and the role are injected, so tests
 * drive it step by step.
 */
export class Lessor {
  private readonly deadlines = new Map<number, number>();
  private leaderTerm = 0;
  /** Expiries proposed and not applied yet, with when they were proposed. */
  private readonly expiring = new Map<number, number>();
  private lastCheckpointAt = -Infinity;

  constructor(private readonly o: LessorOptions) {}

  /** Whether this member is the leader the lessor works for (and so may answer keep-alives). */
  isLeader(): boolean {
    this.sync(this.o.now());
    return this.leaderTerm !== 0;
  }

  /** Renews a lease to its full TTL; returns that TTL, or 0 when the lease does not exist or expired. */
  renew(id: number): number {
    const now = this.o.now();
    this.sync(now);
    const lease = this.o.table().get(id);
    if (lease === undefined || this.leaderTerm === 0) return 0;
    if (this.deadlineOf(lease, now) <= now) return 0;
    this.deadlines.set(id, now + lease.ttl * 1000);
    return lease.ttl;
  }

  timeToLive(id: number): LeaseTtl | undefined {
    const now = this.o.now();
    this.sync(now);
    const lease = this.o.table().get(id);
    if (lease === undefined) return undefined;
    const remainingMs = this.leaderTerm === 0 ? baseRemainingMs(lease) : this.deadlineOf(lease, now) - now;
    return { ttl: Math.max(0, Math.ceil(remainingMs / 1000)), grantedTtl: lease.ttl };
  }

  /** The applier changed a lease (on every member; only the leader keeps deadlines). */
  readonly onChange = (change: LeaseOutcome): void => {
    const now = this.o.now();
    this.sync(now);
    if (change.kind === 'removed') {
      this.deadlines.delete(change.id);
      this.expiring.delete(change.id);
    } else if (this.leaderTerm !== 0) {
      this.deadlines.set(change.id, now + change.ttl * 1000);
    }
  };

  /**
   * Leases whose deadline passed and whose expiry is not already on its way, soonest first,
   * in batches of at most maxBatch; they count as on their way from now on.
   */
  takeExpired(): number[][] {
    const now = this.o.now();
    this.sync(now);
    if (this.leaderTerm === 0) return [];
    const due: { id: number; deadline: number }[] = [];
    for (const lease of this.o.table().all()) {
      const deadline = this.deadlineOf(lease, now);
      if (deadline > now) continue;
      const proposedAt = this.expiring.get(lease.id);
      if (proposedAt !== undefined && now - proposedAt < this.o.expiryRetryMs) continue;
      due.push({ id: lease.id, deadline });
    }
    due.sort((a, b) => a.deadline - b.deadline || a.id - b.id);
    for (const { id } of due) this.expiring.set(id, now);
    return chunks(
      due.map((d) => d.id),
      this.o.maxBatch,
    );
  }

  /**
   * When a checkpoint is due (every checkpointIntervalMs) or forced (before a leadership
   * transfer): the remaining TTL of each lease whose stored checkpoint is off by a second or
   * more, in batches. The stored value only matters to the next leader, which continues from
   * it; between checkpoints it can only overstate the remaining time (a lease that was not
   * renewed) or understate it by at most the interval (a lease renewed since), which the
   * promotion extension and the holder's next keep-alive cover.
   */
  takeCheckpoints(force = false): LeaseRemaining[][] {
    const now = this.o.now();
    this.sync(now);
    if (this.leaderTerm === 0) return [];
    if (!force && now - this.lastCheckpointAt < this.o.checkpointIntervalMs) return [];
    this.lastCheckpointAt = now;
    const remaining: LeaseRemaining[] = [];
    for (const lease of this.o.table().all()) {
      const remainingMs = Math.ceil(this.deadlineOf(lease, now) - now);
      if (remainingMs <= 0) continue; // expiring: nothing to carry over
      if (Math.ceil(remainingMs / 1000) === Math.ceil(baseRemainingMs(lease) / 1000)) continue;
      remaining.push({ id: lease.id, remainingMs });
    }
    return chunks(remaining, this.o.maxBatch);
  }

  /** Follows leadership: deadlines exist only while this member leads, set afresh each term. */
  private sync(now: number): void {
    const { leader, term } = this.o.role();
    if (!leader) {
      if (this.leaderTerm !== 0) {
        this.leaderTerm = 0;
        this.deadlines.clear();
        this.expiring.clear();
      }
      return;
    }
    if (this.leaderTerm === term) return;
    this.leaderTerm = term;
    this.deadlines.clear();
    this.expiring.clear();
    this.lastCheckpointAt = now;
    for (const lease of this.o.table().all()) this.deadlines.set(lease.id, now + this.o.promotionExtensionMs + baseRemainingMs(lease));
  }

  /** A lease in the table without a deadline came from a snapshot or a lagging apply: treat it as just promoted. */
  private deadlineOf(lease: Lease, now: number): number {
    let deadline = this.deadlines.get(lease.id);
    if (deadline === undefined) {
      deadline = now + this.o.promotionExtensionMs + baseRemainingMs(lease);
      this.deadlines.set(lease.id, deadline);
    }
    return deadline;
  }
}

/** What a new leader continues from: the last checkpoint, or the full TTL if none. */
function baseRemainingMs(lease: Lease): number {
  return lease.remainingMs > 0 ? lease.remainingMs : lease.ttl * 1000;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
