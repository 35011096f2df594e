/** One member's HashKV at the revision every answer was taken at. */
export interface MemberHash {
  readonly memberId: number;
  readonly hash: string;
}

/** A member whose key space differs, with the evidence for the alarm's detail. */
export interface Divergence {
  readonly memberId: number;
  readonly detail: string;
}

/**
 * Which members differ, given hashes all taken at one revision. The hash most members
 * share is taken as the cluster's when it is a strict majority of the answers: the members
 * with another hash are named. Without such a majority (two members that disagree, or three
 * different hashes) nobody can tell which side is right, so every member is named: writes
 * stop either way, and the operator compares. Fewer than two answers prove nothing.
 */
export function divergentMembers(hashes: readonly MemberHash[], revision: number): Divergence[] {
  if (hashes.length < 2) return [];
  const byHash = new Map<string, number[]>();
  for (const { memberId, hash } of hashes) byHash.set(hash, [...(byHash.get(hash) ?? []), memberId]);
  if (byHash.size === 1) return [];
  const [majorityHash, holders] = [...byHash].sort((a, b) => b[1].length - a[1].length)[0]!;
  const name = (id: number): string => id.toString();
  if (holders.length * 2 > hashes.length) {
    return hashes
      .filter((h) => h.hash !== majorityHash)
      .map((h) => ({
        memberId: h.memberId,
        detail: `hash ${h.hash} at revision ${revision} differs from ${majorityHash} held by members ${holders.map(name).join(', ')}`,
      }));
  }
  const all = hashes.map((h) => `${name(h.memberId)}=${h.hash}`).join(', ');
  return hashes.map((h) => ({ memberId: h.memberId, detail: `no majority of members agree on the hash at revision ${revision}: ${all}` }));
}
