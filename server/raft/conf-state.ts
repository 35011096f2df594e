import { invariant } from './errors.js';
import type { ConfState, NodeId } from './types.js';
import { NONE } from './types.js';

/**
 * The active membership configuration. Everything that asks "who votes?" goes through here so
 * joint consensus (incoming/outgoing voter sets) can later be added in one place.
 */
export class RaftConfig {
  readonly voters: ReadonlySet<NodeId>;

  constructor(voters: Iterable<NodeId>) {
    const set = new Set(voters);
    invariant(!set.has(NONE), 'node id 0 is reserved');
    this.voters = set;
  }

  static fromConfState(cs: ConfState): RaftConfig {
    return new RaftConfig(cs.voters);
  }

  toConfState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b) };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }
}
