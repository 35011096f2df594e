import type { RaftConfig } from './conf-state.js';
import { invariant } from './errors.js';
import { Progress } from './progress.js';
import type { VoteResult } from './quorum.js';
import { majorityCommitted, majorityVoteResult, quorumSize } from './quorum.js';
import type { NodeId } from './types.js';

/** Per-peer progress and votes for the current configuration. */
export class ProgressTracker {
  config: RaftConfig;
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    config: RaftConfig,
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {
    this.config = config;
  }

  /**
   * Re-creates progress for every member, voter or learner (new term, or after a snapshot).
   * Everyone counts as heard from `now`: a fresh leader just got a quorum of votes.
   */
  resetProgress(lastIndex: number, selfId: NodeId, selfMatch: number, now: number): void {
    this.progress.clear();
    for (const id of this.config.members()) {
      const pr = new Progress(0, lastIndex + 1, this.maxInflight, this.maxInflightBytes);
      pr.lastActiveTick = now;
      if (id === selfId) pr.match = selfMatch;
      this.progress.set(id, pr);
    }
  }

  /**
   * Switches to a new configuration, keeping the progress of members that stay (a promoted
   * learner keeps its match). An added member starts probing right after the leader's log
   * (its match is unknown) and counts as heard from `now`, so it may be sent a snapshot.
   */
  switchConfig(config: RaftConfig, lastIndex: number, now: number): void {
    this.config = config;
    for (const id of [...this.progress.keys()]) {
      if (!config.isMember(id)) {
        this.progress.delete(id);
        this.votes.delete(id);
      }
    }
    for (const id of config.members()) {
      if (this.progress.has(id)) continue;
      const pr = new Progress(0, lastIndex + 1, this.maxInflight, this.maxInflightBytes);
      pr.lastActiveTick = now;
      this.progress.set(id, pr);
    }
  }

  get(id: NodeId): Progress | undefined {
    return this.progress.get(id);
  }

  mustGet(id: NodeId): Progress {
    const pr = this.progress.get(id);
    invariant(pr !== undefined, () => `no progress for ${id}`);
    return pr;
  }

  committed(): number {
    return majorityCommitted(this.config.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.config.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: majorityVoteResult(this.config.voters, this.votes) };
  }

  /** True if a quorum (counting self) was heard from within the last `window` ticks. */
  quorumActive(selfId: NodeId, now: number, window: number): boolean {
    let active = 0;
    for (const id of this.config.voters) {
      const pr = this.progress.get(id);
      if (id === selfId || (pr !== undefined && now - pr.lastActiveTick < window)) active++;
    }
    return active >= quorumSize(this.config.voters);
  }
}
