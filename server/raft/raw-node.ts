import type { ConfChange } from './conf-change.js';
import { decodeConfChange, encodeConfChange } from './conf-change.js';
import { invariant } from './errors.js';
import type { Message } from './message.js';
import { MessageType, isLocalMessage, isResponseMessage, makeMessage } from './message.js';
import type { ProgressState } from './progress.js';
import type { AppliedConfChange, RaftOptions } from './raft.js';
import { Raft } from './raft.js';
import type { Ready } from './ready.js';
import type { ConfState, Entry, HardState, NodeId, SoftState, SubmitResult } from './types.js';
import { DropReason, EMPTY_HARD_STATE, EntryType, NONE, StateRole, dropped, hardStateEqual } from './types.js';

export interface BasicStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lead: NodeId;
  readonly role: StateRole;
  readonly firstIndex: number;
  readonly lastIndex: number;
}

export interface RaftStatus extends BasicStatus {
  readonly leadTransferee: NodeId;
  /** The configuration in effect (as of the applied index): voters and learners. */
  readonly confState: ConfState;
  /** True once a committed conf change removed this member. */
  readonly removed: boolean;
  /**
   * Leader only: per-member replication state, learners included. `match` is the highest
   * index known to be in that member's log: `lastIndex - match` says how far behind it is
   * (e.g. to refuse promoting a learner that has not caught up).
   */
  readonly progress: ReadonlyMap<NodeId, { match: number; next: number; state: ProgressState; learner: boolean }>;
}

/** Outcome of proposeConfChange: where the change was appended, or why it was refused. */
export type ConfChangeSubmitResult =
  | { readonly accepted: true; readonly index: number; readonly term: number }
  | { readonly accepted: false; readonly reason: DropReason; readonly detail?: string };

/**
 * The application-facing handle on the core: feeds inputs in and hands out Ready batches.
 * Single-threaded and synchronous; the driver (server/node/) owns all I/O around it.
 */
export class RawNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined = undefined;
  /**
   * Self-addressed messages taken with the outstanding Ready (the leader's acks of the
   * entries in it), stepped by advance() once that Ready's write is done.
   */
  private stepsOnAdvance: Message[] = [];

  constructor(opts: RaftOptions) {
    this.raft = new Raft(opts);
    this.prevSoft = this.raft.softState();
    // The hard state loaded from storage is already durable.
    this.prevHard = opts.storage.initialState().hardState ?? EMPTY_HARD_STATE;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (tests, or forcing a campaign at bootstrap). */
  campaign(): void {
    this.raft.step(makeMessage({ type: MessageType.Hup, from: this.raft.id }));
  }

  /**
   * Proposes data for the log. On a follower it is forwarded to the known leader; with no
   * known leader (or a leader mid-transfer) it is dropped and the result says why, so the
   * caller can retry elsewhere. Acceptance does not imply commit.
   */
  propose(data: Uint8Array): SubmitResult {
    const entry: Entry = { term: 0, index: 0, type: EntryType.Normal, data };
    return this.raft.step(makeMessage({ type: MessageType.Prop, from: this.raft.id, entries: [entry] }));
  }

  /**
   * Requests a linearizable read point. A ReadState with the same context appears in a later
   * Ready once leadership was confirmed by a quorum; reads queued together share one heartbeat
   * round. A leader that has not committed an entry of its term yet postpones the request.
   */
  readIndex(context: Uint8Array): SubmitResult {
    invariant(context.byteLength > 0, 'read index context must not be empty');
    return this.raft.step(makeMessage({ type: MessageType.ReadIndex, from: this.raft.id, context }));
  }

  /**
   * Proposes a membership change. Leader only (a follower answers not-leader, or no-leader,
   * so the caller can go to the leader and get its precise answer). Refused when another
   * change is not applied yet, when this leader has not committed an entry of its term, or
   * when the change does not fit the configuration (`detail` says why). Accepted means
   * appended at `index` in `term`: the change takes effect when that entry is applied
   * (reported by advance()); if another entry ends up at `index`, it was lost.
   */
  proposeConfChange(cc: ConfChange): ConfChangeSubmitResult {
    const r = this.raft;
    if (r.removed) return dropped(DropReason.Removed) as ConfChangeSubmitResult;
    if (r.role !== StateRole.Leader) {
      return dropped(r.lead === NONE ? DropReason.NoLeader : DropReason.NotLeader) as ConfChangeSubmitResult;
    }
    const entry: Entry = { term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) };
    const result = r.step(makeMessage({ type: MessageType.Prop, from: r.id, entries: [entry] }));
    if (!result.accepted) return result;
    return { accepted: true, index: r.raftLog.lastIndex(), term: r.term };
  }

  /** Asks the leader to hand leadership to `to` (forwarded if this node is a follower). */
  transferLeadership(to: NodeId): SubmitResult {
    return this.raft.step(makeMessage({ type: MessageType.TransferLeader, from: this.raft.id, index: to }));
  }

  /** Feeds a message received from a peer. Local-only message types are rejected. */
  step(m: Message): void {
    invariant(!isLocalMessage(m.type), () => `cannot step local message ${m.type} from the network`);
    invariant(m.to === this.raft.id, () => `message to ${m.to} stepped into node ${this.raft.id}`);
    // Responses from peers outside the configuration are meaningless.
    if (isResponseMessage(m.type) && this.raft.tracker.get(m.from) === undefined) return;
    // Only the core itself speaks for this node: a network message claiming to come from us
    // (say a MsgAppResp) would count data as durable here that may not be.
    if (m.from === this.raft.id) return;
    this.raft.step(m);
  }

  /** Transport report: `to` could not be reached (leader backs off to probing). */
  reportUnreachable(id: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.Unreachable, from: id }));
  }

  /** Transport report: a MsgSnap to `id` was delivered (failed=false) or not. */
  reportSnapshot(id: NodeId, failed: boolean): void {
    this.raft.step(makeMessage({ type: MessageType.SnapStatus, from: id, reject: failed }));
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.raft;
    if (r.readRoundPending) return true;
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.role !== this.prevSoft.role) return true;
    if (!hardStateEqual(r.hardState(), this.prevHard)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0 || r.raftLog.unstableEntries().length > 0) return true;
    if (r.raftLog.hasNextCommittedEntries()) return true;
    return r.readStates.length > 0;
  }

  /** Returns the next batch of work. Must be followed by advance() before the next ready(). */
  ready(): Ready {
    invariant(this.outstanding === undefined, 'ready() called again before advance()');
    const r = this.raft;
    r.flushReadRound();
    const hs = r.hardState();
    const ss = r.softState();
    const snap = r.raftLog.unstable.snapshot;
    const entries = [...r.raftLog.unstableEntries()];
    const hardChanged = !hardStateEqual(hs, this.prevHard);
    const rd: Ready = {
      entries,
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote || snap !== undefined,
      ...(hardChanged ? { hardState: hs } : {}),
      ...(ss.lead !== this.prevSoft.lead || ss.role !== this.prevSoft.role ? { softState: ss } : {}),
      ...(snap !== undefined ? { snapshot: snap } : {}),
    };
    r.msgs = [];
    r.readStates = [];
    // Every message in msgsAfterAppend acknowledges entries in `entries`: once they are
    // written, advance() steps them.
    this.stepsOnAdvance = r.takeMsgsAfterAppend();
    const lastIndex = entries[entries.length - 1]?.index ?? 0;
    invariant(
      this.stepsOnAdvance.every((m) => m.index <= lastIndex),
      () => `self-ack beyond the entries of this Ready (last ${lastIndex})`,
    );
    this.prevHard = hs;
    this.prevSoft = ss;
    this.outstanding = rd;
    return rd;
  }

  /**
   * Acknowledges that `rd` was fully processed (persisted, sent, applied). The conf changes
   * among its committed entries take effect now, in log order; each is returned with the
   * configuration after it, for the driver to tell the transport and the server.
   */
  advance(rd: Ready): AppliedConfChange[] {
    invariant(this.outstanding === rd, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const r = this.raft;
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (rd.snapshot !== undefined) r.raftLog.appliedTo(Math.max(rd.snapshot.index, r.raftLog.applied));
    const applied: AppliedConfChange[] = [];
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange && !r.removed) applied.push(r.applyConfChange(e.index, decodeConfChange(e.data)));
    }
    if (lastApplied !== undefined) r.raftLog.appliedTo(lastApplied.index);
    r.onApplied();
    const lastEntry = rd.entries[rd.entries.length - 1];
    r.onPersisted(lastEntry === undefined ? undefined : { index: lastEntry.index, term: lastEntry.term }, rd.snapshot?.index);
    // The writes are durable: the leader acknowledges its own entries (may commit, release
    // reads, broadcast the new commit; all of it lands in the next Ready).
    const steps = this.stepsOnAdvance;
    this.stepsOnAdvance = [];
    for (const m of steps) r.step(m);
    return applied;
  }

  /** True once a committed conf change removed this member: it must stop. */
  get removed(): boolean {
    return this.raft.removed;
  }

  /** The cheap part of status(), without progress or membership (hot paths, invariant checks). */
  basicStatus(): BasicStatus {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.role,
      firstIndex: r.raftLog.firstIndex(),
      lastIndex: r.raftLog.lastIndex(),
    };
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress = new Map<NodeId, { match: number; next: number; state: ProgressState; learner: boolean }>();
    if (r.role === StateRole.Leader) {
      for (const [id, pr] of r.tracker.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, learner: r.tracker.config.isLearner(id) });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.role,
      firstIndex: r.raftLog.firstIndex(),
      lastIndex: r.raftLog.lastIndex(),
      leadTransferee: r.leadTransferee,
      confState: r.tracker.config.toConfState(),
      removed: r.removed,
      progress,
    };
  }

  /** Term of the entry at `index` in this node's log (stable or not), if present. */
  termAt(index: number): number | undefined {
    const t = this.raft.raftLog.term(index);
    return typeof t === 'number' ? t : undefined;
  }

  /** The whole in-memory log view, stable + unstable (tests and simulator invariants). */
  logEntries(): Entry[] {
    return this.raft.raftLog.allEntries();
  }

  /** Pending unconfirmed read requests on a leader (tests). */
  pendingReadCount(): number {
    return this.raft.pendingReadCount();
  }
}
