import { invariant } from './errors.js';
import type { Message } from './message.js';
import { bytesKey } from './message.js';
import type { NodeId } from './types.js';

export interface ReadIndexStatus {
  /** The original request (local or forwarded by a follower). */
  readonly req: Message;
  /** Leader's commit index when the request arrived: the read may be served once applied there. */
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/**
 * Pending ReadIndex requests on the leader, in arrival order. A heartbeat round carries the
 * context of the newest request; a quorum of acks for it confirms leadership for every request
 * that arrived before it too, so many reads share one round.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  addRequest(index: number, m: Message): void {
    invariant(m.context !== undefined, 'read index request without context');
    const key = bytesKey(m.context);
    if (this.pending.has(key)) return; // duplicate delivery of the same request
    this.pending.set(key, { req: m, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records an ack; returns the ack set for the context, or undefined if unknown. */
  recvAck(from: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(bytesKey(context));
    if (rs === undefined) return undefined;
    rs.acks.add(from);
    return rs.acks;
  }

  /** Releases the request with this context and every request queued before it. */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = bytesKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released: ReadIndexStatus[] = [];
    for (const k of this.queue.slice(0, at + 1)) {
      const rs = this.pending.get(k);
      invariant(rs !== undefined, 'read index queue out of sync with pending map');
      this.pending.delete(k);
      released.push(rs);
    }
    this.queue = this.queue.slice(at + 1);
    return released;
  }

  lastPendingContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)?.req.context;
  }

  size(): number {
    return this.queue.length;
  }

  clear(): void {
    this.pending.clear();
    this.queue = [];
  }
}
