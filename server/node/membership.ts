import { ConfChangeType, type ConfChange } from '../raft/conf-change.js';
import type { ConfState, NodeId } from '../raft/types.js';
import type { ClusterMember } from './cluster-config.js';

/** A member as the cluster lists it: Raft's configuration joined with its name and address. */
export interface MemberView extends ClusterMember {
  readonly learner: boolean;
}

/** What a member's records hold across restarts (see server/storage/member-records.ts). */
export interface MemberRecords {
  /** Every member this member ever learned of, removed ones included (their ids are never reused). */
  readonly known: readonly ClusterMember[];
  /** Ids removed from the cluster: refused for good. */
  readonly removed: readonly NodeId[];
}

/**
 * The conf-change context: who the member is, replicated with the change so that every member
 * (and every later restart, from the log) learns its name and address. JSON, as it is small,
 * rare, and read by people debugging a log.
 */
export function encodeMemberContext(member: ClusterMember): Uint8Array {
  return Buffer.from(JSON.stringify({ name: member.name, address: member.address }), 'utf8');
}

export function decodeMemberContext(id: NodeId, context: Uint8Array | undefined): ClusterMember | undefined {
  if (context === undefined || context.byteLength === 0) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(context).toString('utf8')) as { name?: unknown; address?: unknown };
    if (typeof parsed.name !== 'string' || typeof parsed.address !== 'string') return undefined;
    return { id, name: parsed.name, address: parsed.address };
  } catch {
    return undefined;
  }
}

/**
 * The live member set of this member: Raft's configuration (who votes, who learns) as of the
 * applied index, and the names and addresses the conf-change contexts brought. Everything that
 * depends on who the members are (the Cluster service, the transport's peers, the TLS peer
 * authenticator, the leader's address for forwarding) reads it here, so all follow applied
 * changes together.
 */
export class Membership {
  private readonly known = new Map<NodeId, ClusterMember>();
  private readonly removedIds = new Set<NodeId>();
  private confState: ConfState;

  constructor(
    readonly self: ClusterMember,
    records: MemberRecords,
    confState: ConfState,
  ) {
    for (const m of records.known) this.known.set(m.id, m);
    for (const id of records.removed) this.removedIds.add(id);
    this.known.set(self.id, { ...self, address: this.known.get(self.id)?.address ?? self.address });
    this.confState = confState;
  }

  /** Learns a member's name and address (from a conf-change context, a record, the cluster). */
  learn(member: ClusterMember): void {
    this.known.set(member.id, member);
  }

  /** This member's own address changed (a lone member listening on port 0). */
  setSelfAddress(address: string): void {
    this.known.set(this.self.id, { ...this.self, address });
  }

  /**
   * A change was applied (or a snapshot brought a configuration): returns which members
   * joined and which left, so the caller can add and remove transport peers.
   */
  apply(confState: ConfState, change?: ConfChange): { added: ClusterMember[]; removed: NodeId[] } {
    if (change !== undefined) {
      const member = decodeMemberContext(change.nodeId, change.context);
      if (member !== undefined && change.type === ConfChangeType.AddLearner) this.known.set(member.id, member);
      if (change.type === ConfChangeType.RemoveMember) this.removedIds.add(change.nodeId);
    }
    const before = new Set(this.ids());
    this.confState = confState;
    const after = new Set(this.ids());
    // Only a RemoveMember change marks an id removed for good: a configuration that merely
    // lacks an id proves nothing. A member that joined gets a snapshot taken before it (or
    // another newcomer) was added, and the entries after it add them back; taking that for a
    // removal would refuse a live member's messages.
    return {
      added: [...after].filter((id) => !before.has(id)).flatMap((id) => this.member(id) ?? []),
      removed: [...before].filter((id) => !after.has(id)),
    };
  }

  /**
   * A peer said a committed change removed this member, before this member applied it (the
   * leader no longer replicates to it): recorded so that the data dir is refused on restart.
   */
  markSelfRemoved(): void {
    this.removedIds.add(this.self.id);
  }

  /** The current members, voters first, each group in id order. */
  list(): MemberView[] {
    const learners = new Set(this.confState.learners ?? []);
    return this.ids().map((id) => ({
      ...(this.known.get(id) ?? { id, name: '', address: '' }),
      learner: learners.has(id),
    }));
  }

  member(id: NodeId): ClusterMember | undefined {
    return this.known.get(id);
  }

  byName(name: string): ClusterMember | undefined {
    for (const m of this.known.values()) if (m.name === name) return m;
    return undefined;
  }

  isMember(id: NodeId): boolean {
    return this.ids().includes(id);
  }

  isRemoved(id: NodeId): boolean {
    return this.removedIds.has(id);
  }

  /** Voters only: the members that count in a quorum. */
  voterCount(): number {
    return this.confState.voters.length;
  }

  records(): MemberRecords {
    return { known: [...this.known.values()], removed: [...this.removedIds] };
  }

  private ids(): NodeId[] {
    const voters = [...this.confState.voters].sort((a, b) => a - b);
    const learners = [...(this.confState.learners ?? [])].sort((a, b) => a - b);
    return [...voters, ...learners];
  }
}
