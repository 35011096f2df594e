import type { ConfChange } from './conf-change.js';
import { ConfChangeType, applyConfChange, confChangeError, decodeConfChange } from './conf-change.js';
import { RaftConfig } from './conf-state.js';
import { invariant } from './errors.js';
import type { Message, MessageInit } from './message.js';
import { CAMPAIGN_TRANSFER, MessageType, bytesEqual, makeMessage, voteResponseType } from './message.js';
import { ProgressState } from './progress.js';
import { ProgressTracker } from './progress-tracker.js';
import { VoteResult, majorityVoteResult } from './quorum.js';
import type { RandomSource } from './random.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import type { RaftStorage } from './storage.js';
import type { ConfState, Entry, HardState, NodeId, ReadState, Snapshot, SoftState, SubmitResult } from './types.js';
import { ACCEPTED, DropReason, EntryType, NONE, StateRole, dropped, entriesSize, isEmptyHardState } from './types.js';

export interface RaftOptions {
  readonly id: NodeId;
  /**
   * Voters used when storage has no membership yet: the bootstrap members, or, for a member
   * joining a running cluster, the voters of the configuration that added it.
   */
  readonly voters?: readonly NodeId[];
  /**
   * Learners used when storage has no membership yet: for a joining member, the learners of
   * the configuration that added it (itself included). Replaying the cluster's older conf
   * changes over that configuration converges to the right one (see README, Membership).
   */
  readonly learners?: readonly NodeId[];
  readonly storage: RaftStorage;
  readonly random: RandomSource;
  /** Ticks without hearing from a leader before campaigning (randomized in [e, 2e)). */
  readonly electionTick: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  readonly heartbeatTick: number;
  /** Last index applied to the state machine (restart); defaults to the snapshot index. */
  readonly applied?: number;
  /** Max bytes of entries per MsgApp. */
  readonly maxSizePerMsg?: number;
  /** Max unacknowledged MsgApp per follower in Replicate state. */
  readonly maxInflightMsgs?: number;
  /** Max unacknowledged entry bytes per follower (0 = no byte limit). */
  readonly maxInflightBytes?: number;
  /** Max bytes of committed entries handed out in one Ready. */
  readonly maxCommittedSizePerReady?: number;
  /** Pre-vote phase before real elections (default true). */
  readonly preVote?: boolean;
  /** Leader steps down without a recently active quorum; followers keep a leader lease (default true). */
  readonly checkQuorum?: boolean;
}

type CampaignType = 'pre-election' | 'election' | 'transfer';

/** A committed conf change as applied by this node (see RawNode.advance). */
export interface AppliedConfChange {
  readonly index: number;
  readonly change: ConfChange;
  /** The configuration after it (unchanged if the change did not apply). */
  readonly confState: ConfState;
}

const LOCAL_ONLY = new Set<string>([MessageType.Prop, MessageType.ReadIndex]);

/**
 * The Raft state machine (etcd-io/raft style). Purely deterministic: all inputs arrive through
 * step()/tick(), all outputs accumulate in `msgs`, `readStates` and the log for the RawNode to
 * hand out as a Ready.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: StateRole = StateRole.Follower;
  readonly raftLog: RaftLog;
  readonly tracker: ProgressTracker;
  readonly readOnly = new ReadOnly();
  msgs: Message[] = [];
  /**
   * Messages this node addresses to itself, to be stepped only once the entries appended
   * before them are durable: the leader's self-acknowledgement (a MsgAppResp from itself) of
   * the entries it appended. RawNode takes them with each Ready and steps them in advance(),
   * so the leader's own write and a follower's ack reach commit through the same code
   * (etcd-io/raft's msgsAfterAppend).
   */
  msgsAfterAppend: Message[] = [];
  readStates: ReadState[] = [];
  /** Set when a leader must run a heartbeat round confirming pending reads (flushed per Ready). */
  readRoundPending = false;
  /** ReadIndex requests postponed until this leader has committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];
  leadTransferee: NodeId = NONE;
  /**
   * Leader: index of the last conf change it appended (or its last index on election, which
   * may hide one). No new change is accepted until the log is applied up to here.
   */
  pendingConfIndex = 0;
  /** Set once a committed conf change removed this node: it then takes part in nothing. */
  removed = false;
  /**
   * A MsgTimeoutNow arrived while a committed conf change was not applied yet (typically the
   * removal of the leader that sent it, whose commit came in the same batch): campaign as
   * soon as it is applied rather than an election timeout later.
   */
  private transferCampaignPending = false;

  private electionElapsed = 0;
  /** Monotonic tick counter; the leader's clock for check-quorum. */
  private ticks = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  private readonly maxMsgSize: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly random: RandomSource;

  constructor(opts: RaftOptions) {
    invariant(opts.id !== NONE, 'cannot use none as id');
    invariant(opts.heartbeatTick > 0, 'heartbeat tick must be > 0');
    invariant(opts.electionTick > opts.heartbeatTick, 'election tick must be > heartbeat tick');
    this.id = opts.id;
    this.random = opts.random;
    this.electionTimeout = opts.electionTick;
    this.heartbeatTimeout = opts.heartbeatTick;
    this.maxMsgSize = opts.maxSizePerMsg ?? 1024 * 1024;
    this.preVote = opts.preVote ?? true;
    this.checkQuorum = opts.checkQuorum ?? true;
    this.raftLog = new RaftLog(opts.storage, opts.maxCommittedSizePerReady ?? 4 * 1024 * 1024);

    const { hardState, confState } = opts.storage.initialState();
    const known = confState.voters.length > 0 || (confState.learners ?? []).length > 0;
    const config = known ? RaftConfig.fromConfState(confState) : new RaftConfig(opts.voters ?? [], opts.learners ?? []);
    this.tracker = new ProgressTracker(config, opts.maxInflightMsgs ?? 256, opts.maxInflightBytes ?? 0);

    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (opts.applied !== undefined && opts.applied > 0) this.raftLog.appliedTo(opts.applied);
    this.replayAppliedConfChanges(opts.storage.snapshot().index);
    invariant(this.tracker.config.voters.size > 0, 'no voters: pass voters, or a storage with a conf state');
    this.becomeFollower(this.term, NONE);
  }

  /**
   * The storage's conf state is the one of its snapshot; conf changes between the snapshot
   * and the applied index were applied before the restart and will not be handed out again,
   * so they are re-applied here (pure, no effects) to know the current configuration.
   */
  private replayAppliedConfChanges(snapshotIndex: number): void {
    const lo = Math.max(snapshotIndex + 1, this.raftLog.firstIndex());
    const hi = this.raftLog.applied;
    if (hi < lo) return;
    let config = this.tracker.config;
    for (const e of this.raftLog.slice(lo, hi + 1, Infinity)) {
      if (e.type === EntryType.ConfChange) config = applyConfChange(config, decodeConfChange(e.data));
    }
    this.tracker.config = config;
    // A member whose removal was applied before the restart stays removed.
    if (hi > snapshotIndex && !config.isMember(this.id) && this.wasEverMember(lo, hi)) this.removed = true;
  }

  /** True if some conf change in [lo, hi] named this node (so it was a member at some point). */
  private wasEverMember(lo: number, hi: number): boolean {
    for (const e of this.raftLog.slice(lo, hi + 1, Infinity)) {
      if (e.type === EntryType.ConfChange && decodeConfChange(e.data).nodeId === this.id) return true;
    }
    return false;
  }

  private loadState(hs: HardState): void {
    invariant(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      () => `hard state commit ${hs.commit} out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  /** Voter, not removed, and no snapshot waiting to be installed (its membership may differ). */
  promotable(): boolean {
    return !this.removed && this.tracker.config.isVoter(this.id) && !this.raftLog.hasPendingSnapshot();
  }

  // ---- outgoing messages ----

  private send(init: MessageInit): void {
    // Every message is from this node: a follower forwards only its own requests, so the
    // receiver can hold each message's `from` to the member its transport authenticated.
    const m = makeMessage({ ...init, from: init.from ?? this.id });
    invariant(m.to !== this.id, () => `${m.type} addressed to self`);
    if (
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResp
    ) {
      // Vote terms are chosen explicitly: pre-votes run ahead of our term.
      invariant(m.term !== 0, () => `${m.type} must carry a term`);
      this.msgs.push(m);
    } else if (LOCAL_ONLY.has(m.type)) {
      // Forwarded requests are local in spirit: no term, so a term mismatch never drops them.
      this.msgs.push(m);
    } else {
      this.msgs.push({ ...m, term: this.term });
    }
  }

  /** Sends MsgApp (or MsgSnap) to a follower if flow control allows. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.mustGet(to);
    if (pr.isPaused()) return false;
    const prevTerm = this.raftLog.term(pr.next - 1);
    const ents = this.raftLog.entriesFrom(pr.next, this.maxMsgSize);
    if (typeof prevTerm === 'number' && ents !== 'compacted') {
      if (ents.length === 0 && !sendIfEmpty) return false;
      this.send({ type: MessageType.App, to, index: pr.next - 1, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed });
      const last = ents[ents.length - 1];
      if (last !== undefined) {
        if (pr.state === ProgressState.Replicate) {
          pr.optimisticUpdate(last.index);
          pr.inflights.add(last.index, entriesSize(ents));
        } else if (pr.state === ProgressState.Probe) {
          pr.probeSent = true;
        }
      }
      return true;
    }
    // The entries the follower needs are compacted: send a snapshot instead, but only to a
    // follower we recently heard from (snapshots are expensive).
    if (!this.recentlyActive(to)) return false;
    const snap = this.raftLog.snapshot();
    invariant(snap.index > 0, 'need non-empty snapshot');
    pr.becomeSnapshot(snap.index);
    this.send({ type: MessageType.Snap, to, snapshot: snap });
    return true;
  }

  private recentlyActive(id: NodeId): boolean {
    const pr = this.tracker.mustGet(id);
    return this.ticks - pr.lastActiveTick < this.electionTimeout;
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Voters and learners alike receive the log. */
  private bcastAppend(): void {
    for (const id of this.tracker.config.members()) if (id !== this.id) this.sendAppend(id);
  }

  private sendHeartbeat(to: NodeId, context: Uint8Array | undefined): void {
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(this.tracker.mustGet(to).match, this.raftLog.committed);
    this.send(context === undefined ? { type: MessageType.Heartbeat, to, commit } : { type: MessageType.Heartbeat, to, commit, context });
  }

  private bcastHeartbeat(): void {
    this.readRoundPending = false;
    const ctx = this.readOnly.lastPendingContext();
    for (const id of this.tracker.config.members()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  /** One heartbeat round confirms every read queued since the previous round. */
  flushReadRound(): void {
    if (this.readRoundPending && this.role === StateRole.Leader) this.bcastHeartbeat();
    this.readRoundPending = false;
  }

  // ---- role transitions ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + this.random.nextInt(this.electionTimeout);
    this.leadTransferee = NONE;
    this.tracker.resetVotes();
    // The leader counts itself only for what is durable (see Ready's ordering contract).
    this.tracker.resetProgress(this.raftLog.lastIndex(), this.id, this.raftLog.stableLastIndex(), this.ticks);
    this.readOnly.clear();
    this.readRoundPending = false;
    this.pendingReadIndexMessages = [];
    this.transferCampaignPending = false;
    // Self-acknowledgements not yet handed to a Ready belong to the leadership that ends
    // here: stepped later they would be ignored, and meanwhile a new leader may truncate
    // the entries they name, so no Ready could carry them. The entries themselves are still
    // written with the next Ready; a later leadership counts itself from its own appends.
    this.msgsAfterAppend = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = StateRole.Follower;
  }

  private becomePreCandidate(): void {
    invariant(this.role !== StateRole.Leader, 'invalid transition [leader -> pre-candidate]');
    // Pre-vote changes neither term nor vote: a rejected pre-campaign leaves no trace.
    this.tracker.resetVotes();
    this.lead = NONE;
    this.role = StateRole.PreCandidate;
  }

  private becomeCandidate(): void {
    invariant(this.role !== StateRole.Leader, 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = StateRole.Candidate;
  }

  private becomeLeader(): void {
    invariant(this.role === StateRole.Candidate, () => `invalid transition [${this.role} -> leader]`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = StateRole.Leader;
    this.tracker.mustGet(this.id).becomeReplicate();
    // Our log may hold a conf change not applied yet: no new change until it is.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // A no-op in our term: committing it commits all earlier entries (Raft §5.4.2) and
    // unlocks ReadIndex.
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
  }

  private appendEntries(es: readonly Entry[]): void {
    let li = this.raftLog.lastIndex();
    const ents = es.map((e) => ({ ...e, term: this.term, index: ++li }));
    this.raftLog.append(ents);
    // Self progress is NOT advanced here: the leader acknowledges its own entries with a
    // MsgAppResp to itself, stepped only after they are persisted (see msgsAfterAppend), so
    // commit never depends on data only in memory. Being an ordinary append response, it
    // commits through the one path a follower's ack takes (stepLeader, MsgAppResp).
    this.msgsAfterAppend.push(makeMessage({ type: MessageType.AppResp, from: this.id, to: this.id, term: this.term, index: li }));
  }

  /** The driver persisted entries up to (index, term) and the snapshot, if any: they are stable. */
  onPersisted(lastEntry: { index: number; term: number } | undefined, snapshotIndex: number | undefined): void {
    if (snapshotIndex !== undefined) this.raftLog.stableSnapTo(snapshotIndex);
    if (lastEntry !== undefined) this.raftLog.stableTo(lastEntry.index, lastEntry.term);
  }

  /** Hands the self-addressed messages over to the RawNode, which steps them after the next write. */
  takeMsgsAfterAppend(): Message[] {
    const msgs = this.msgsAfterAppend;
    this.msgsAfterAppend = [];
    return msgs;
  }

  // ---- ticks ----

  tick(): void {
    if (this.removed) return;
    this.ticks++;
    if (this.role === StateRole.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    // Check-quorum every tick: step down as soon as a quorum has been silent for a whole
    // election timeout, so a leader cut off in a minority stops serving within that bound.
    if (this.checkQuorum) {
      this.step(makeMessage({ type: MessageType.CheckQuorum, from: this.id }));
      if (this.role !== StateRole.Leader) return;
    }
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.leadTransferee !== NONE) this.leadTransferee = NONE;
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: MessageType.Beat, from: this.id }));
    }
  }

  // ---- elections ----

  private hup(t: CampaignType): void {
    if (this.role === StateRole.Leader) return;
    if (!this.promotable()) return;
    // A committed conf change not applied yet may change who votes: campaigning with the
    // old configuration could count the wrong quorum (as in etcd-io/raft).
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    const hi = this.raftLog.committed;
    if (hi < lo) return false;
    return this.raftLog.slice(lo, hi + 1, Infinity).some((e) => e.type === EntryType.ConfChange);
  }

  private campaign(t: CampaignType): void {
    let voteMsg: MessageType;
    let term: number;
    if (t === 'pre-election') {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      term = this.term + 1; // the term we would campaign for; our own term is unchanged
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tallyVotes().result === VoteResult.Won) {
      // Single-voter cluster: won by our own vote.
      if (t === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of [...this.tracker.config.voters].sort((a, b) => a - b)) {
      if (id === this.id) continue;
      const init: MessageInit = { type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm };
      this.send(t === 'transfer' ? { ...init, context: CAMPAIGN_TRANSFER } : init);
    }
  }

  private poll(from: NodeId, granted: boolean): VoteResult {
    this.tracker.recordVote(from, granted);
    return this.tracker.tallyVotes().result;
  }

  // ---- step ----

  step(m: Message): SubmitResult {
    // A removed member takes part in nothing: no votes, no acks, no requests.
    if (this.removed) return dropped(DropReason.Removed);
    if (m.term === 0) {
      // local message (or termless forwarded request)
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        // Leader lease: we heard from a live leader within the election timeout, so a
        // disruptive candidate (e.g. rejoining after a partition) must not depose it.
        if (!force && inLease) return ACCEPTED;
      }
      if (m.type === MessageType.PreVote) {
        // Never change term in response to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // We bump our term only when a quorum granted the pre-vote.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (e.g. healed from a partition) would never learn of the new term if
        // we stayed silent, since our pre-votes/leases prevent us from disturbing it. Answer
        // with our term so it steps down.
        this.send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return ACCEPTED;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? 'pre-election' : 'election');
        return ACCEPTED;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (m.type === MessageType.PreVote && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // Grant with the candidate's term: pre-vote grants are for a future term.
          this.send({ type: voteResponseType(m.type), to: m.from, term: m.term });
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true });
        }
        return ACCEPTED;
      }
      default:
        switch (this.role) {
          case StateRole.Leader:
            return this.stepLeader(m);
          case StateRole.Candidate:
          case StateRole.PreCandidate:
            return this.stepCandidate(m);
          case StateRole.Follower:
            return this.stepFollower(m);
        }
    }
  }

  private stepLeader(m: Message): SubmitResult {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return ACCEPTED;
      case MessageType.CheckQuorum:
        if (!this.tracker.quorumActive(this.id, this.ticks, this.electionTimeout)) this.becomeFollower(this.term, NONE);
        return ACCEPTED;
      case MessageType.Prop: {
        invariant(m.entries.length > 0, 'stepped empty MsgProp');
        if (!this.tracker.config.isVoter(this.id)) return dropped(DropReason.NotMember);
        if (this.leadTransferee !== NONE) return dropped(DropReason.LeaderTransferring);
        const refused = this.checkConfChanges(m.entries);
        if (refused !== undefined) return refused;
        this.appendEntries(m.entries);
        this.bcastAppend();
        return ACCEPTED;
      }
      case MessageType.ReadIndex:
        if (!this.committedEntryInCurrentTerm()) {
          // A new leader's commit index may lag the true one until its no-op commits.
          this.pendingReadIndexMessages.push(m);
          return ACCEPTED;
        }
        this.serveReadIndex(m);
        return ACCEPTED;
      default:
        break;
    }

    const pr = this.tracker.get(m.from);
    if (pr === undefined) return ACCEPTED;
    switch (m.type) {
      case MessageType.AppResp: {
        // Also the leader's acknowledgement of its own persisted entries (m.from === this.id):
        // whatever commits, by whoever's ack, releases reads and is broadcast right here.
        const self = m.from === this.id;
        pr.lastActiveTick = this.ticks;
        if (m.reject) {
          let nextProbe = m.rejectHint;
          if (m.logTerm > 0) nextProbe = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
          if (pr.maybeDecrTo(m.index, nextProbe)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return ACCEPTED;
        }
        const oldPaused = pr.isPaused();
        if (pr.maybeUpdate(m.index)) {
          if (pr.state === ProgressState.Probe) {
            pr.becomeReplicate();
          } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
            // The follower caught up through the snapshot (or otherwise): resume replication.
            pr.becomeProbe();
            pr.becomeReplicate();
          } else if (pr.state === ProgressState.Replicate) {
            pr.inflights.freeLE(m.index);
          }
          if (this.maybeCommit()) {
            // Our term has an entry committed: reads postponed until then can be served.
            this.releasePendingReadIndexMessages();
            this.bcastAppend();
          } else if (oldPaused && !self) {
            this.sendAppend(m.from);
          }
          // Fill the window as far as flow control allows.
          while (!self && this.maybeSendAppend(m.from, false)) {
            /* keep sending */
          }
          if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
            this.send({ type: MessageType.TimeoutNow, to: m.from });
          }
        }
        return ACCEPTED;
      }
      case MessageType.HeartbeatResp: {
        pr.lastActiveTick = this.ticks;
        pr.probeSent = false;
        // The follower is alive but acks may have been lost: free one slot of a full window
        // so replication cannot stall forever.
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);
        if (m.context === undefined || m.context.byteLength === 0) return ACCEPTED;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (acks === undefined) return ACCEPTED;
        const votes = new Map<NodeId, boolean>();
        for (const id of acks) votes.set(id, true);
        if (majorityVoteResult(this.tracker.config.voters, votes) !== VoteResult.Won) return ACCEPTED;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
        return ACCEPTED;
      }
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return ACCEPTED;
        if (m.reject) pr.pendingSnapshot = 0; // failed: the next probe decides what to send
        pr.becomeProbe();
        // Wait for a heartbeat response (proof the follower is reachable) before probing.
        pr.probeSent = true;
        return ACCEPTED;
      case MessageType.Unreachable:
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return ACCEPTED;
      case MessageType.TransferLeader: {
        const transferee = m.index;
        if (this.tracker.get(transferee) === undefined) return ACCEPTED;
        // A learner cannot win an election: handing leadership to it would only stall writes.
        if (!this.tracker.config.isVoter(transferee)) return dropped(DropReason.NotMember, `member ${transferee} is not a voter`);
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return ACCEPTED;
          this.leadTransferee = NONE;
        }
        if (transferee === this.id) return ACCEPTED;
        // Bound the transfer to one election timeout (see tickHeartbeat).
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (this.tracker.get(transferee)!.match === this.raftLog.lastIndex()) this.send({ type: MessageType.TimeoutNow, to: transferee });
        else this.sendAppend(transferee);
        return ACCEPTED;
      }
      default:
        return ACCEPTED;
    }
  }

  private stepCandidate(m: Message): SubmitResult {
    const myVoteResp = this.role === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        return dropped(DropReason.NoLeader);
      case MessageType.ReadIndex:
        return dropped(DropReason.NoLeader);
      case MessageType.TransferLeader:
        return dropped(DropReason.NoLeader);
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return ACCEPTED;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return ACCEPTED;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return ACCEPTED;
      case myVoteResp: {
        const res = this.poll(m.from, !m.reject);
        if (res === VoteResult.Won) {
          if (this.role === StateRole.PreCandidate) {
            this.campaign('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === VoteResult.Lost) {
          // Pre-vote lost: stay at our term, as if nothing happened.
          this.becomeFollower(this.term, NONE);
        }
        return ACCEPTED;
      }
      default:
        return ACCEPTED;
    }
  }

  private stepFollower(m: Message): SubmitResult {
    switch (m.type) {
      case MessageType.Prop:
        // Forward to the leader; with no known leader, report the drop so the caller retries.
        if (this.lead === NONE) return dropped(DropReason.NoLeader);
        if (m.from !== this.id) return dropped(DropReason.NotLeader);
        this.send({ ...m, to: this.lead });
        return ACCEPTED;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return ACCEPTED;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return ACCEPTED;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return ACCEPTED;
      case MessageType.TransferLeader:
        if (this.lead === NONE) return dropped(DropReason.NoLeader);
        if (m.from !== this.id) return dropped(DropReason.NotLeader);
        this.send({ type: MessageType.TransferLeader, to: this.lead, index: m.index });
        return ACCEPTED;
      case MessageType.TimeoutNow:
        // Leadership transfer: campaign at once, bypassing pre-vote and leases.
        if (this.promotable() && this.hasUnappliedConfChanges()) this.transferCampaignPending = true;
        else this.hup('transfer');
        return ACCEPTED;
      case MessageType.ReadIndex:
        if (this.lead === NONE) return dropped(DropReason.NoLeader);
        if (m.from !== this.id) return dropped(DropReason.NotLeader);
        this.send({ ...m, to: this.lead });
        return ACCEPTED;
      case MessageType.ReadIndexResp:
        invariant(m.context !== undefined, 'MsgReadIndexResp without context');
        this.readStates.push({ index: m.index, context: m.context });
        return ACCEPTED;
      default:
        return ACCEPTED;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: MessageType.AppResp, to: m.from, index: lastNew });
      return;
    }
    // Reject with a hint: the last index whose term <= the leader's term at m.index, so the
    // leader can skip a whole conflicting term per round trip.
    const hint = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.send({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(
      m.context === undefined
        ? { type: MessageType.HeartbeatResp, to: m.from }
        : { type: MessageType.HeartbeatResp, to: m.from, context: m.context },
    );
  }

  private handleSnapshot(m: Message): void {
    invariant(m.snapshot !== undefined, 'MsgSnap without snapshot');
    if (this.restore(m.snapshot)) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
    }
  }

  /** Installs a snapshot from the leader; false if it brings nothing new. */
  private restore(s: Snapshot): boolean {
    if (s.index <= this.raftLog.committed) return false;
    invariant(this.role === StateRole.Follower, 'only followers restore snapshots');
    // A snapshot whose configuration does not name us was taken before we were added: a
    // leader sends only to members of its (applied) configuration, and ids are never reused,
    // so it cannot be one taken after our removal. The log after it adds us again.
    const snapConfig = RaftConfig.fromConfState(s.confState);
    if (this.raftLog.matchTerm(s.index, s.term)) {
      // We already have the entries: just fast-forward commit.
      this.raftLog.commitTo(s.index);
      return false;
    }
    this.raftLog.restore(s);
    this.tracker.config = snapConfig;
    this.tracker.resetProgress(this.raftLog.lastIndex(), this.id, 0, this.ticks);
    return true;
  }

  // ---- membership ----

  /** The RawNode advanced the applied index: run a transfer campaign that waited for it. */
  onApplied(): void {
    if (!this.transferCampaignPending || this.hasUnappliedConfChanges()) return;
    this.transferCampaignPending = false;
    if (this.role === StateRole.Follower) this.hup('transfer');
  }

  /**
   * Leader admission of conf changes in a proposal. Refused (with the reason) when: an
   * earlier change is not applied yet (one change at a time keeps every two consecutive
   * configurations' majorities overlapping, thesis §4.1); no entry of this term committed
   * yet (the previous leader's unfinished change may still commit, thesis §4.1 and the 2015
   * raft-dev correction); or the change does not apply to the configuration, e.g. it would
   * remove the last voter.
   */
  private checkConfChanges(entries: readonly Entry[]): SubmitResult | undefined {
    const changes = entries.filter((e) => e.type === EntryType.ConfChange);
    if (changes.length === 0) return undefined;
    if (changes.length > 1) return dropped(DropReason.ConfChangePending, 'one conf change per proposal');
    if (this.pendingConfIndex > this.raftLog.applied) {
      return dropped(
        DropReason.ConfChangePending,
        `the conf change at index ${this.pendingConfIndex} is not applied yet (applied ${this.raftLog.applied})`,
      );
    }
    if (!this.committedEntryInCurrentTerm()) {
      return dropped(DropReason.ConfChangeTooEarly, `leader of term ${this.term} has not committed an entry of its term yet`);
    }
    const cc = decodeConfChange(changes[0]!.data);
    const error = confChangeError(this.tracker.config, cc);
    if (error !== undefined) return dropped(DropReason.ConfChangeInvalid, error);
    if (cc.type === ConfChangeType.RemoveMember && cc.nodeId === this.id && this.tracker.config.voters.size === 2) {
      // The other voter switches to the new configuration only when it learns the removal
      // is committed, which only we can tell it; until then it needs our vote to elect
      // anyone. If we stop (or crash) first, it is stuck for good. Hand over, then remove.
      return dropped(
        DropReason.ConfChangeInvalid,
        `the leader cannot remove itself from a two-voter configuration: transfer leadership first, then remove member ${this.id}`,
      );
    }
    // appendEntries numbers the entries from lastIndex + 1, in order.
    this.pendingConfIndex = this.raftLog.lastIndex() + 1 + entries.indexOf(changes[0]!);
    return undefined;
  }

  /**
   * Applies a committed conf change: the configuration takes effect when the entry is
   * APPLIED (etcd-io/raft's choice, not on append as in the thesis), on every member alike,
   * in log order. Being committed, it can never be rolled back, so no member ever has to
   * revert a configuration; the cost is that a leader counts the old quorum until then.
   */
  applyConfChange(index: number, cc: ConfChange): AppliedConfChange {
    const before = this.tracker.config;
    const after = applyConfChange(before, cc);
    this.tracker.switchConfig(after, this.raftLog.lastIndex(), this.ticks);
    const wasMember = before.isMember(this.id);
    if (this.role === StateRole.Leader) {
      if (this.leadTransferee !== NONE && !after.isVoter(this.leadTransferee)) this.leadTransferee = NONE;
      if (!after.isVoter(this.id)) {
        this.stepDownRemovedLeader();
      } else {
        // Fewer voters may commit more at once; new members get the log right away.
        if (this.maybeCommit()) this.releasePendingReadIndexMessages();
        this.bcastAppend();
      }
    }
    if (wasMember && !after.isMember(this.id)) {
      this.removed = true;
      if (this.role !== StateRole.Leader) this.role = StateRole.Follower;
      this.lead = NONE;
    }
    return { index, change: cc, confState: after.toConfState() };
  }

  /**
   * The leader applied its own removal: tell everyone the commit (so the remaining voters
   * apply the change too), hand leadership to the most up-to-date remaining voter at once
   * (TimeoutNow; it need not wait an election timeout), and step down.
   */
  private stepDownRemovedLeader(): void {
    this.bcastAppend();
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const id of [...this.tracker.config.voters].sort((a, b) => a - b)) {
      const pr = this.tracker.get(id);
      if (pr !== undefined && pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    // TimeoutNow is safe only to a voter holding our whole log (it must win the election).
    if (best !== NONE && bestMatch === this.raftLog.lastIndex()) this.send({ type: MessageType.TimeoutNow, to: best });
    this.becomeFollower(this.term, NONE);
  }

  // ---- commit and reads ----

  /** Commits what a quorum has persisted, but only if it is an entry of our term (Raft §5.4.2). */
  private maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.tracker.committed(), this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOn(this.raftLog.committed) === this.term;
  }

  private releasePendingReadIndexMessages(): void {
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.serveReadIndex(m);
  }

  private serveReadIndex(m: Message): void {
    if (this.tracker.config.isSingleton()) {
      this.respondToReadIndex(m, this.raftLog.committed);
      return;
    }
    this.readOnly.addRequest(this.raftLog.committed, m);
    this.readOnly.recvAck(this.id, m.context ?? new Uint8Array(0));
    this.readRoundPending = true;
  }

  private respondToReadIndex(req: Message, index: number): void {
    invariant(req.context !== undefined, 'read index request without context');
    if (req.from === this.id) {
      this.readStates.push({ index, context: req.context });
    } else {
      this.send({ type: MessageType.ReadIndexResp, to: req.from, index, context: req.context });
    }
  }

  /** Number of pending, not yet confirmed read requests on this leader (tests). */
  pendingReadCount(): number {
    return this.readOnly.size() + this.pendingReadIndexMessages.length;
  }
}
