import type { NodeId } from '../../server/raft/types.js';

export type RequestKind = 'propose' | 'read';

/** One request of a simulated client: a proposal (keyed by its value) or a ReadIndex (by its context). */
export interface ClientRequest {
  readonly kind: RequestKind;
  readonly key: string;
  readonly member: NodeId;
  /** Virtual ms when issued. */
  readonly issuedAt: number;
}

/**
 * Liveness bookkeeping for client requests. Raft may lose a request silently, and only then:
 * a message that carried it was dropped, a member crashed or restarted, leadership changed
 * (a leader drops pending reads when it steps down; an uncommitted entry can be overwritten;
 * a forward can reach a member that is no longer leader), or a leadership transfer was under
 * way (the leader drops forwarded proposals). The simulator reports each of these as a
 * disturbance. A request issued since the last disturbance must therefore complete
 * (proposal applied, read state returned) or be rejected explicitly; one that stays
 * outstanding past its deadline is a liveness bug, e.g. a read that waits forever.
 *
 * A disturbance excuses every request outstanding at that moment (they may still complete,
 * but nothing waits for them), so `outstanding` holds only requests issued after the last
 * disturbance, in issue order: the first has the earliest deadline.
 */
export class ClientRequests {
  private readonly outstanding = new Map<string, ClientRequest>();
  issued = 0;
  completed = 0;
  rejected = 0;
  excused = 0;
  disturbances = 0;
  /** Slowest completion (virtual ms from issue) of a request that no disturbance excused. */
  maxLatency = 0;

  issue(kind: RequestKind, key: string, member: NodeId, now: number): void {
    this.issued++;
    this.outstanding.set(key, { kind, key, member, issuedAt: now });
  }

  /** The proposal was applied, or the read state returned. Unknown keys (excused, duplicates) are ignored. */
  complete(key: string, now: number): void {
    const r = this.outstanding.get(key);
    if (r === undefined) return;
    this.outstanding.delete(key);
    this.completed++;
    this.maxLatency = Math.max(this.maxLatency, now - r.issuedAt);
  }

  /** The member refused the request at once (no leader, transfer under way, stopped...). */
  reject(key: string): void {
    if (this.outstanding.delete(key)) this.rejected++;
  }

  /** Something happened that may legitimately lose any request in flight. */
  disturb(): void {
    this.disturbances++;
    this.excused += this.outstanding.size;
    this.outstanding.clear();
  }

  get size(): number {
    return this.outstanding.size;
  }

  /** The oldest request issued since the last disturbance and still outstanding. */
  oldest(): ClientRequest | undefined {
    for (const r of this.outstanding.values()) return r;
    return undefined;
  }

  all(): ClientRequest[] {
    return [...this.outstanding.values()];
  }
}
