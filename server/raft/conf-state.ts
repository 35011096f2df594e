import { invariant } from './errors.js';
import type { ConfState, NodeId } from './types.js';
import { NONE } from './types.js';

/**
 * The active membership configuration: voters (elect, commit, confirm reads) and learners
 * (receive the log, count for nothing). Everything that asks "who votes?" or "who gets the
 * log?" goes through here. Immutable: a conf change produces a new RaftConfig.
 */
export class RaftConfig {
  readonly voters: ReadonlySet<NodeId>;
  readonly learners: ReadonlySet<NodeId>;

  constructor(voters: Iterable<NodeId>, learners: Iterable<NodeId> = []) {
    const v = new Set(voters);
    const l = new Set(learners);
    invariant(!v.has(NONE) && !l.has(NONE), 'node id 0 is reserved');
    for (const id of l) invariant(!v.has(id), () => `member ${id} is both voter and learner`);
    this.voters = v;
    this.learners = l;
  }

  static fromConfState(cs: ConfState): RaftConfig {
    return new RaftConfig(cs.voters, cs.learners ?? []);
  }

  toConfState(): ConfState {
    return { voters: sorted(this.voters), learners: sorted(this.learners) };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learners.has(id);
  }

  isMember(id: NodeId): boolean {
    return this.voters.has(id) || this.learners.has(id);
  }

  /** Every member that receives the log, in id order (deterministic message order). */
  members(): NodeId[] {
    return [...sorted(this.voters), ...sorted(this.learners)].sort((a, b) => a - b);
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }
}

function sorted(ids: ReadonlySet<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}
