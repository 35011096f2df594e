import type { NodeId } from './types.js';

export const VoteResult = {
  Pending: 'pending',
  Won: 'won',
  Lost: 'lost',
} as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

/** Majority quorum over a set of voters. The single place that defines "quorum". */
export function quorumSize(voters: ReadonlySet<NodeId>): number {
  return Math.floor(voters.size / 2) + 1;
}

/**
 * Largest index acknowledged by a majority. `matchOf` returns 0 for unknown voters.
 * An empty configuration commits everything (no constraint), as in etcd.
 */
export function majorityCommitted(voters: ReadonlySet<NodeId>, matchOf: (id: NodeId) => number): number {
  if (voters.size === 0) return Number.MAX_SAFE_INTEGER;
  const matched: number[] = [];
  for (const id of voters) matched.push(matchOf(id));
  matched.sort((a, b) => b - a);
  return matched[quorumSize(voters) - 1]!;
}

/** Won once a majority granted, lost once a majority can no longer be reached. */
export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = quorumSize(voters);
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}
