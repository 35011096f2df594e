import type { Entry, NodeId } from '../../server/raft/types.js';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function fail(msg: string): never {
  throw new InvariantViolation(msg);
}

const decoder = new TextDecoder();
export function entryKey(e: Entry): string {
  return `${e.term}:${decoder.decode(e.data)}`;
}

/** Minimal view of a running member the checker needs. */
export interface MemberView {
  readonly id: NodeId;
  readonly term: number;
  readonly role: string;
  readonly commit: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  termAt(index: number): number | undefined;
  /** Commit index in the member's synced hard state. */
  readonly durableCommit: number;
}

/**
 * Safety properties of Raft, checked incrementally as the simulation runs:
 * - election safety: at most one leader per term;
 * - log matching: (index, term) identifies an entry and its predecessor's term, hence (by
 *   induction) the whole prefix; checked for every entry written to any disk;
 * - leader completeness: a newly seen leader holds every entry known committed in an
 *   earlier term;
 * - state machine safety: the same entry is applied at the same index on every member, and
 *   state-machine hashes agree at every index;
 * - commit monotonicity: per incarnation, and never below the synced commit.
 */
export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** index -> term of the committed entry, and the lowest term in which it was seen committed */
  private readonly committed = new Map<number, { term: number; seenInTerm: number }>();
  private readonly lastCommit = new Map<NodeId, number>();
  private readonly wasLeaderInTerm = new Map<NodeId, number>();
  /** `${index}/${term}` -> `${prevTerm}|${key}` for every entry ever persisted */
  private readonly logIdentity = new Map<string, string>();
  private readonly appliedAt = new Map<number, string>();
  private readonly hashAt = new Map<number, number>();
  maxCommitted = 0;

  /** A member restarted: its commit restarts from what it synced. */
  onRestart(id: NodeId, commit: number): void {
    this.lastCommit.set(id, commit);
    this.wasLeaderInTerm.delete(id);
  }

  check(m: MemberView): void {
    // commit never decreases, and never below the durable commit
    const prev = this.lastCommit.get(m.id) ?? 0;
    if (m.commit < prev) fail(`member ${m.id}: commit went backwards ${prev} -> ${m.commit}`);
    if (m.commit < m.durableCommit) fail(`member ${m.id}: commit ${m.commit} below synced commit ${m.durableCommit}`);
    if (m.commit > prev) {
      for (let i = Math.max(prev + 1, m.firstIndex - 1); i <= m.commit; i++) {
        const t = m.termAt(i);
        if (t === undefined) continue; // inside the member's snapshot
        const c = this.committed.get(i);
        if (c === undefined) this.committed.set(i, { term: t, seenInTerm: m.term });
        else if (c.term !== t) fail(`index ${i} committed with term ${c.term} and ${t} (member ${m.id})`);
        else if (m.term < c.seenInTerm) c.seenInTerm = m.term;
      }
      this.lastCommit.set(m.id, m.commit);
      if (m.commit > this.maxCommitted) this.maxCommitted = m.commit;
    }
    if (m.role === 'leader' && this.wasLeaderInTerm.get(m.id) !== m.term) {
      this.wasLeaderInTerm.set(m.id, m.term);
      const other = this.leaderOfTerm.get(m.term);
      if (other !== undefined && other !== m.id) fail(`two leaders in term ${m.term}: ${other} and ${m.id}`);
      this.leaderOfTerm.set(m.term, m.id);
      this.checkLeaderCompleteness(m);
    }
  }

  private checkLeaderCompleteness(m: MemberView): void {
    for (const [i, c] of this.committed) {
      if (c.seenInTerm >= m.term) continue; // committed in this term or later: not required
      if (i < m.firstIndex) continue; // covered by the leader's snapshot
      const t = m.termAt(i);
      if (t !== c.term) {
        fail(`leader ${m.id} of term ${m.term} lacks committed entry ${i} (term ${c.term}, has ${t ?? 'nothing'})`);
      }
    }
  }

  /** Entries durably appended by a member; prevTerm is the term just before the first one. */
  onPersist(id: NodeId, entries: readonly Entry[], prevTerm: number): void {
    let pt = prevTerm;
    for (const e of entries) {
      const k = `${e.index}/${e.term}`;
      const v = `${pt}|${entryKey(e)}`;
      const seen = this.logIdentity.get(k);
      if (seen === undefined) this.logIdentity.set(k, v);
      else if (seen !== v) fail(`log matching: member ${id} persisted ${k} as ${v}, elsewhere ${seen}`);
      pt = e.term;
    }
  }

  onApply(id: NodeId, e: Entry, hashAfter: number): void {
    const k = entryKey(e);
    const seen = this.appliedAt.get(e.index);
    if (seen === undefined) this.appliedAt.set(e.index, k);
    else if (seen !== k) fail(`state machine safety: member ${id} applied ${k} at ${e.index}, another applied ${seen}`);
    this.checkHash(id, e.index, hashAfter);
  }

  checkHash(id: NodeId, index: number, hash: number): void {
    const h = this.hashAt.get(index);
    if (h === undefined) this.hashAt.set(index, hash);
    else if (h !== hash) fail(`state machine divergence: member ${id} hash at ${index} is ${hash}, expected ${h}`);
  }

  /** Full pairwise log matching over the in-memory logs (periodic, and at the end). */
  static checkLogsMatch(logs: ReadonlyMap<NodeId, readonly Entry[]>): void {
    const ids = [...logs.keys()];
    for (let a = 0; a < ids.length; a++) {
      for (let b = a + 1; b < ids.length; b++) {
        const la = logs.get(ids[a]!)!;
        const lb = logs.get(ids[b]!)!;
        if (la.length === 0 || lb.length === 0) continue;
        const lo = Math.max(la[0]!.index, lb[0]!.index);
        const hi = Math.min(la[la.length - 1]!.index, lb[lb.length - 1]!.index);
        let top = -1;
        for (let i = hi; i >= lo; i--) {
          if (la[i - la[0]!.index]!.term === lb[i - lb[0]!.index]!.term) {
            top = i;
            break;
          }
        }
        for (let i = lo; i <= top; i++) {
          const ea = la[i - la[0]!.index]!;
          const eb = lb[i - lb[0]!.index]!;
          if (entryKey(ea) !== entryKey(eb)) {
            fail(
              `log matching: members ${ids[a]} and ${ids[b]} share (${top}, term) but differ at ${i}: ${entryKey(ea)} vs ${entryKey(eb)}`,
            );
          }
        }
      }
    }
  }
}
