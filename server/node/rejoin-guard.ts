import { MessageType, type Message } from '../raft/message.js';
import type { NodeId } from '../raft/types.js';
import type { DriverStatus } from './raft-driver.js';

export interface RejoinGuardOptions {
  /** The member discarded its data (`cairn serve --discard-local-data-and-rejoin`). */
  readonly rejoining: boolean;
  readonly self: NodeId;
  readonly members: readonly NodeId[];
  readonly electionTimeoutMs: number;
  readonly status: () => DriverStatus;
  /** Asks the cluster to move leadership to `target` (best effort). */
  readonly moveLeader: (target: NodeId) => void;
  readonly onCaughtUp: () => void;
}

/**
 * Brings back, without changing the Raft algorithm, a member that discarded its data and
 * kept its id (there are no membership changes yet to remove and re-add it).
 *
 * Votes. The wiped member forgot its vote: had it voted for A in term T just before it was
 * wiped, granting B a vote in the same T could elect two leaders in one term. Vote and
 * pre-vote requests are dropped until (1) it has applied everything a leader told it was
 * committed when they first spoke, and (2) two election timeouts have passed since it
 * started: any election it took part in before the wipe has ended by then, and a leader it
 * follows has a term at least as high as any it voted in. The other members elect without it.
 *
 * The leader's stale view. The leader still remembers this member's old match index: its
 * heartbeats carry a commit index beyond the empty log (which the core treats as a broken
 * invariant: a lost log), and it ignores the member's rejections as stale, so it would
 * never send the snapshot. While rejoining, a heartbeat's commit is clamped to the local
 * log (commit only ever advances, so a lower value is safe), and if a leader is heard but
 * the member does not catch up, leadership is moved to another member: a new leader starts
 * with a fresh view of every follower, probes this one and sends it a snapshot.
 */
export class RejoinGuard {
  private active: boolean;
  private readonly notBefore: number;
  /** The commit index a leader reported in its first message; caught up once applied reaches it. */
  private target: number | undefined;
  private stuckSince: number | undefined;
  private leaderAtStuck: NodeId = 0;

  constructor(
    private readonly o: RejoinGuardOptions,
    now = Date.now(),
  ) {
    this.active = o.rejoining;
    this.notBefore = now + 2 * o.electionTimeoutMs;
  }

  get rejoining(): boolean {
    return this.active;
  }

  /** The messages the member may act on. */
  filter(messages: readonly Message[], now = Date.now()): readonly Message[] {
    if (!this.active) return messages;
    for (const m of messages) {
      if (this.target === undefined && (m.type === MessageType.App || m.type === MessageType.Snap || m.type === MessageType.Heartbeat)) {
        this.target = m.type === MessageType.Snap ? (m.snapshot?.index ?? m.commit) : m.commit;
      }
    }
    this.check(now);
    if (!this.active) return messages;
    const last = this.o.status().lastIndex;
    return messages
      .filter((m) => m.type !== MessageType.Vote && m.type !== MessageType.PreVote)
      .map((m) => (m.type === MessageType.Heartbeat && m.commit > last ? { ...m, commit: last } : m));
  }

  private check(now: number): void {
    if (this.target === undefined) return;
    const s = this.o.status();
    if (s.leader !== 0 && s.applied >= this.target) {
      if (now < this.notBefore) return;
      this.active = false;
      this.o.onCaughtUp();
      return;
    }
    this.moveLeaderIfStuck(s, now);
  }

  /** A leader heard for several election timeouts without progress: its view of this member is stale. */
  private moveLeaderIfStuck(s: DriverStatus, now: number): void {
    if (s.leader === 0 || s.applied > 0) {
      this.stuckSince = undefined;
      return;
    }
    if (this.stuckSince === undefined || this.leaderAtStuck !== s.leader) {
      this.stuckSince = now;
      this.leaderAtStuck = s.leader;
      return;
    }
    if (now - this.stuckSince < 3 * this.o.electionTimeoutMs) return;
    const target = this.o.members.find((id) => id !== this.o.self && id !== s.leader);
    this.stuckSince = now;
    if (target !== undefined) this.o.moveLeader(target);
  }
}
