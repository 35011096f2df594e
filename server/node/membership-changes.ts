import { CairnError, ErrorCode } from '../errors.js';
import { ConfChangeType, type ConfChange } from '../raft/conf-change.js';
import { DropReason, StateRole, type NodeId } from '../raft/types.js';
import { addedMemberId, type ClusterMember } from './cluster-config.js';
import { encodeMemberContext, type Membership, type MemberView } from './membership.js';
import { ConfChangeLostError, type DriverConfChangeResult, type RaftDriver } from './raft-driver.js';

/**
 * A learner may be promoted once its log is within this many entries of the leader's last
 * index. Close enough that the new voter does not hold back commits while it catches the
 * rest up (a voter far behind counts in the quorum without being able to ack), far enough
 * that a learner of a cluster under steady write load can ever qualify: a few heartbeats'
 * worth of a busy leader's appends.
 */
export const PROMOTE_WITHIN_ENTRIES = 1000;

const ADDRESS = /^[^:\s]+:\d+$/;

/** How often a change the core found too early (see proposeOnceSettled) is offered again. */
const TOO_EARLY_RETRY_MS = 20;

export interface MembershipChangesOptions {
  readonly membership: Membership;
  readonly driver: Pick<RaftDriver, 'status' | 'progress' | 'proposeConfChange'>;
  /** Hands leadership to `target` and resolves once it leads (RaftNode.moveLeader). */
  readonly moveLeader: (target: NodeId) => Promise<void>;
  /** How long a change may take to apply before the caller is told its outcome is unknown. */
  readonly timeoutMs: number;
}

/**
 * The Cluster service's changes, made on the leader: one Raft conf change each, answered once
 * it is applied here, so that the member list the caller gets back already holds it. Refusals
 * say why and change nothing.
 */
export class MembershipChanges {
  constructor(private readonly o: MembershipChangesOptions) {}

  /**
   * Adds `name` as a learner under a new id; it then starts with `cairn serve --join`. A
   * removed member's name may be added again (under a new id, with an empty data dir).
   */
  async add(name: string, address: string): Promise<MemberView> {
    if (name === '' || /[\s,=]/.test(name)) {
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `member name "${name}" must be non-empty, without spaces, commas or '='`);
    }
    if (!ADDRESS.test(address)) throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `member address "${address}" is not host:port`);
    const m = this.o.membership;
    if (m.list().some((v) => v.name === name))
      throw new CairnError(ErrorCode.ERROR_CODE_MEMBER_EXISTS, `member ${name} is already in the cluster`);
    this.requireLeader();
    const s = this.o.driver.status();
    const id = addedMemberId(name, s.term, s.lastIndex);
    // A hash collision with a member or a removed id (about 2^-53): refused rather than reused.
    if (m.isMember(id) || m.isRemoved(id)) {
      throw new CairnError(ErrorCode.ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED, `the id chosen for ${name} is taken; retry`);
    }
    const member: ClusterMember = { id, name, address };
    await this.change({ type: ConfChangeType.AddLearner, nodeId: id, context: encodeMemberContext(member) }, `add ${name}`);
    return { ...member, learner: true };
  }

  /** Makes a caught-up learner a voter. */
  async promote(id: NodeId): Promise<void> {
    const member = this.existing(id);
    this.requireLeader();
    const learner = this.o.membership.list().find((v) => v.id === id);
    if (learner?.learner !== true)
      throw new CairnError(ErrorCode.ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED, `member ${member.name} is already a voter`);
    const progress = this.o.driver.progress().get(id);
    const last = this.o.driver.status().lastIndex;
    const behind = last - (progress?.match ?? 0);
    // match 0: the leader has not heard from it yet (not started, or unreachable).
    if (progress === undefined || progress.match === 0 || behind > PROMOTE_WITHIN_ENTRIES) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_LEARNER_NOT_READY,
        `learner ${member.name} is ${behind} entries behind the leader (its log matches up to index ${progress?.match ?? 0}, the leader's last index is ${last}); ` +
          `it can be promoted once within ${PROMOTE_WITHIN_ENTRIES} entries: is it started (cairn serve --join) and reachable? Retry shortly`,
      );
    }
    await this.change({ type: ConfChangeType.PromoteLearner, nodeId: id }, `promote ${member.name}`);
  }

  /**
   * Removes a member, voter or learner. The leader removing itself hands leadership first to
   * the voter whose log is most complete, and answers NOT_LEADER naming it, where the removal
   * then goes (`cairn member remove` follows it): writes keep a leader all along, instead of
   * the cluster waiting for the removed leader's hand-over as the change applies (and with two
   * voters the core refuses that altogether, see server/raft/README.md).
   */
  async remove(id: NodeId): Promise<void> {
    const member = this.existing(id);
    const leader = this.requireLeader();
    if (id === leader) {
      const target = this.handOverTarget(id);
      if (target !== undefined) {
        await this.o.moveLeader(target);
        throw this.notLeader(
          target,
          `leadership moved to ${this.o.membership.member(target)?.name ?? target.toString(16)} before removing ${member.name}, the leader`,
        );
      }
    }
    await this.change({ type: ConfChangeType.RemoveMember, nodeId: id }, `remove ${member.name}`);
  }

  /** The voter, other than `self`, whose log matches the leader's furthest. */
  private handOverTarget(self: NodeId): NodeId | undefined {
    let target: NodeId | undefined;
    let best = -1;
    for (const [id, p] of this.o.driver.progress()) {
      if (id !== self && !p.learner && p.match > best) {
        best = p.match;
        target = id;
      }
    }
    return target;
  }

  private existing(id: NodeId): ClusterMember {
    const m = this.o.membership;
    if (!m.isMember(id)) {
      const why = m.isRemoved(id) ? 'was removed from the cluster' : 'is not a member of the cluster';
      throw new CairnError(ErrorCode.ERROR_CODE_MEMBER_NOT_FOUND, `member ${id.toString(16)} ${why}`);
    }
    return m.member(id) ?? { id, name: id.toString(16), address: '' };
  }

  private requireLeader(): NodeId {
    const s = this.o.driver.status();
    if (s.role !== StateRole.Leader) {
      if (s.leader === 0) throw new CairnError(ErrorCode.ERROR_CODE_NO_LEADER, 'no leader is known; retry once one is elected');
      throw this.notLeader(s.leader, 'membership changes are made on the leader');
    }
    return s.id;
  }

  /**
   * Proposes the change; while the core refuses it only because this leader has not yet
   * committed an entry of its term, offers it again until it has (bounded by timeoutMs). A
   * new leader commits one within a round trip, and a change often arrives first: the removal
   * of a leader follows its hand-over at once (see remove), so refusing it would send every
   * such caller back to retry by hand. Leadership lost meanwhile answers NOT_LEADER as usual.
   */
  private async proposeOnceSettled(cc: ConfChange): Promise<DriverConfChangeResult> {
    const deadline = Date.now() + this.o.timeoutMs;
    for (;;) {
      const r = this.o.driver.proposeConfChange(cc);
      if (r.accepted || r.reason !== DropReason.ConfChangeTooEarly || Date.now() >= deadline) return r;
      await new Promise((resolve) => setTimeout(resolve, TOO_EARLY_RETRY_MS));
      this.requireLeader();
    }
  }

  private notLeader(leader: NodeId, why: string): CairnError {
    const m = this.o.membership.member(leader);
    const where = m === undefined ? `member ${leader.toString(16)}` : `${m.name} at ${m.address}`;
    return new CairnError(ErrorCode.ERROR_CODE_NOT_LEADER, `${why}; the leader is ${where}: send the request there`);
  }

  private async change(cc: ConfChange, what: string): Promise<void> {
    this.requireLeader();
    const r = await this.proposeOnceSettled(cc);
    if (!r.accepted) {
      switch (r.reason) {
        case DropReason.NoLeader:
        case DropReason.NotLeader:
        case DropReason.LeaderTransferring:
          throw new CairnError(ErrorCode.ERROR_CODE_NO_LEADER, `cannot ${what} now: ${r.reason}; retry once a leader is settled`);
        case 'stopped':
        case DropReason.Removed:
          throw new CairnError(ErrorCode.ERROR_CODE_STOPPING, `cannot ${what}: this member is stopping`);
        case DropReason.ConfChangePending:
          throw new CairnError(
            ErrorCode.ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED,
            `cannot ${what}: an earlier membership change is not applied yet (one change at a time); retry shortly`,
          );
        case DropReason.ConfChangeTooEarly:
          throw new CairnError(
            ErrorCode.ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED,
            `cannot ${what}: the new leader has not committed an entry of its term yet; retry shortly`,
          );
        default:
          throw new CairnError(ErrorCode.ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED, `cannot ${what}: ${r.detail ?? r.reason}`);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CairnError(
              ErrorCode.ERROR_CODE_TIMEOUT,
              `the change (${what}) was not applied within ${this.o.timeoutMs} ms (it may still apply); check with 'cairn member list'`,
            ),
          ),
        this.o.timeoutMs,
      );
    });
    try {
      await Promise.race([r.applied, timeout]);
    } catch (err) {
      if (err instanceof ConfChangeLostError) {
        throw new CairnError(
          ErrorCode.ERROR_CODE_LEADER_CHANGED,
          `the change (${what}) may not have been applied (${err.message}); check with 'cairn member list'`,
        );
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
