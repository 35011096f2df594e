import type { Logger } from 'pino';
import type { ApplyLimits, Command } from '../../gen/ts/cairn/internal/v1/command.js';
import { Proposal } from '../../gen/ts/cairn/internal/v1/command.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { Message } from '../raft/message.js';
import { StateRole, type ReadState } from '../raft/types.js';
import type { RaftDriver } from './raft-driver.js';
import { PendingRequests } from './pending-requests.js';
import { incarnationFirstId } from './request-ids.js';
import type { RaftObserver } from './ports/raft-observer.js';
import { endWhenSettled, startProposalSpan, traceReadIndex } from './raft-tracing.js';

export interface RaftNodeTimeouts {
  /** How long a request waits for a leader to appear before failing with NO_LEADER. */
  leaderWaitMs: number;
  /** How long a proposal may take to be applied, or a read to get its read index. */
  requestMs: number;
}

const RETRY_MS = 25;

/**
 * The member's view of Raft for the API: writes become proposals, linearizable reads get a
 * read index, and each waits for the state machine to reach it. Any member accepts any
 * request: a follower's proposals and read-index requests are forwarded to the leader by
 * the Raft core, and the answer comes from this member's own state machine once it applied
 * the entry, so clients never need to know who leads.
 *
 * `Outcome` is what the state machine reports for an applied proposal (server/apply's
 * CommandOutcome in production); the node only hands it over, so it need not import the
 * layer above. With it, a RaftNode is the API's WritePath (server/apply/write-path.ts).
 */
export class RaftNode<Outcome> {
  private readonly proposals: PendingRequests<Outcome>;
  /** Read-index requests, each shared by a batch of linearizable reads. */
  private readonly reads: PendingRequests<void>;
  private closed = false;
  private readonly queued: (() => void)[] = [];
  /** When a message from the current leader last arrived (ms since epoch); for bounded-staleness reads. */
  private lastLeaderContact = 0;
  private knownLeader = 0;
  private leaderWatch: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  /** The read-index request the next linearizable reads join, until it is handed to the core. */
  private readBatch: Promise<void> | undefined;

  constructor(
    private readonly driver: RaftDriver,
    private readonly memberId: number,
    private readonly timeouts: RaftNodeTimeouts,
    private readonly logger: Logger,
    /** This member's lease limits, sent along with each proposal (see Proposal.limits). */
    private readonly limits: ApplyLimits | undefined = undefined,
    private readonly observer?: Pick<RaftObserver, 'proposalSettled'>,
    /** The wall clock, read once: request ids of this incarnation start from it (request-ids.ts). */
    now: () => number = Date.now,
    /** The bytes of a proposal for the log; the state machine's codec, which may remember what it encoded. */
    private readonly encodeProposal: (proposal: Proposal) => Uint8Array = (proposal) => Proposal.encode(proposal).finish(),
  ) {
    // Both kinds of request start from the same id: a proposal id and a read id never meet.
    const firstId = incarnationFirstId(now());
    this.proposals = new PendingRequests<Outcome>(firstId);
    this.reads = new PendingRequests<void>(firstId);
  }

  /** Proposals made through this member still waiting for their outcome. */
  get pendingProposals(): number {
    return this.proposals.size;
  }

  /** The state machine reports each applied proposal of this member here. */
  readonly onOutcome = (proposalId: number, outcome: Outcome): void => this.proposals.resolve(proposalId, outcome);

  /** The driver reports read states once the state machine applied up to their index. */
  readonly onReadState = (rs: ReadState): void => {
    const read = parseReadContext(rs.context);
    if (read !== undefined && read.memberId === this.memberId) this.reads.resolve(read.id, undefined);
  };

  submit(command: Command): Promise<Outcome> {
    if (this.closed) return Promise.reject(new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the member is shutting down'));
    const { id, done } = this.proposals.register(
      this.timeouts.requestMs,
      () =>
        new CairnError(
          ErrorCode.ERROR_CODE_TIMEOUT,
          `the write was not applied within ${this.timeouts.requestMs} ms (it may still apply); check the cluster with 'cairn status'`,
        ),
    );
    // A traced request's span travels in the proposal, so the leader's spans join its trace.
    const traced = startProposalSpan(this.driver.status().role !== StateRole.Leader, this.memberId);
    const data = this.encodeProposal({
      memberId: this.memberId,
      id,
      command,
      limits: this.limits,
      traceparent: traced?.traceparent ?? '',
    });
    this.offer(
      () => this.driver.propose(data),
      (err) => this.proposals.reject(id, err),
    );
    if (this.observer !== undefined) this.observeProposal(this.observer, done);
    if (traced !== undefined) endWhenSettled(traced.span, done);
    return done;
  }

  private observeProposal(observer: Pick<RaftObserver, 'proposalSettled'>, done: Promise<Outcome>): void {
    const started = performance.now();
    done.then(
      () => observer.proposalSettled(true, (performance.now() - started) / 1000),
      () => observer.proposalSettled(false, (performance.now() - started) / 1000),
    );
  }

  /**
   * Resolves once this member's state machine has applied everything committed before the
   * call. Reads that arrive before the next flush share one read-index request (like etcd's
   * read loop): the leader fixes the read point only when the request reaches it, after
   * every read in the batch began, so each still sees every write acknowledged before it.
   * One request per read would cost a heartbeat round and a handful of peer messages per
   * read, and a burst of a few hundred reads would then take seconds of CPU on a busy host.
   */
  linearizableRead(): Promise<void> {
    if (this.closed) return Promise.reject(new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the member is shutting down'));
    if (this.readBatch !== undefined) {
      traceReadIndex(this.memberId, this.readBatch);
      return this.readBatch;
    }
    const { id, done } = this.reads.register(
      this.timeouts.requestMs,
      () =>
        new CairnError(
          ErrorCode.ERROR_CODE_TIMEOUT,
          `no quorum confirmed a read point within ${this.timeouts.requestMs} ms; use a serializable read to read this member's possibly stale data`,
        ),
    );
    this.readBatch = done;
    traceReadIndex(this.memberId, done);
    const context = readContext(this.memberId, id);
    this.offer(
      () => {
        // The batch closes when it is handed to the core: later reads start the next one.
        if (this.readBatch === done) this.readBatch = undefined;
        return this.driver.readIndex(context);
      },
      (err) => this.reads.reject(id, err),
    );
    return done;
  }

  /**
   * Hands leadership to `target` and resolves once this member sees it lead. The core
   * first catches the target up, then tells it to campaign at once (MsgTimeoutNow).
   */
  async moveLeader(target: number, timeoutMs: number): Promise<void> {
    if (this.driver.status().leader === target) return;
    const result = this.driver.transferLeadership(target);
    if (!result.accepted) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_NO_LEADER,
        `leadership cannot move now (${result.reason}); try again once a leader is elected`,
      );
    }
    const deadline = Date.now() + timeoutMs;
    while (this.driver.status().leader !== target) {
      if (Date.now() > deadline)
        throw new CairnError(
          ErrorCode.ERROR_CODE_TIMEOUT,
          `member ${target} did not take over within ${timeoutMs} ms; it may be down or far behind`,
        );
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  step(messages: readonly Message[]): void {
    for (const m of messages) this.driver.step(m);
    const leader = this.driver.status().leader;
    if (leader !== 0 && messages.some((m) => m.from === leader)) this.lastLeaderContact = Date.now();
    this.checkLeader();
  }

  /** Checks for a leader change every intervalMs (and on every message batch). */
  watchLeader(intervalMs: number): void {
    this.leaderWatch ??= setInterval(() => this.checkLeader(), intervalMs);
    this.leaderWatch.unref();
  }

  /**
   * When the leader changes, requests waiting on the old one are answered now instead of at
   * their timeout: a proposal it dropped would never apply, and the core drops pending read
   * indexes. Writes are reported as of unknown outcome (the new leader may still commit
   * them); reads are safe to retry.
   */
  private checkLeader(): void {
    const leader = this.driver.status().leader;
    if (leader === this.knownLeader) return;
    const previous = this.knownLeader;
    this.knownLeader = leader;
    if (previous === 0) return;
    this.proposals.rejectAll(
      new CairnError(
        ErrorCode.ERROR_CODE_LEADER_CHANGED,
        'the leader changed while the write was in flight; it may or may not have been applied (check before retrying)',
      ),
    );
    this.reads.rejectAll(new CairnError(ErrorCode.ERROR_CODE_LEADER_CHANGED, 'the leader changed before the read was confirmed; retry it'));
    // Reads that arrive from now on start a new batch instead of joining the failed one.
    this.readBatch = undefined;
  }

  /**
   * Whether this member may serve a read from its local state with at most maxStalenessMs of
   * staleness: it heard from the leader within the bound and applied everything the leader
   * said was committed. The leader itself always may (check-quorum makes a leader cut off
   * from the majority step down within an election timeout).
   */
  freshEnough(maxStalenessMs: number): boolean {
    const s = this.driver.status();
    if (s.role === StateRole.Leader) return true;
    if (s.leader === 0) return false;
    return Date.now() - this.lastLeaderContact <= maxStalenessMs && s.applied >= s.commit;
  }

  /** Synchronous; a Promise only because WritePath.close is. */
  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.leaderWatch);
    const stopping = new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the member is shutting down');
    this.proposals.rejectAll(stopping);
    this.reads.rejectAll(stopping);
    this.driver.stop();
    return Promise.resolve();
  }

  /**
   * Hands a request to the core; while no leader is known (an election is under way), tries
   * again until leaderWaitMs has passed, as clients would otherwise see needless errors.
   */
  private offer(attempt: () => { accepted: boolean; reason?: string }, fail: (err: unknown) => void): void {
    const deadline = Date.now() + this.timeouts.leaderWaitMs;
    const tryOnce = (): void => {
      if (this.closed) return fail(new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the member is shutting down'));
      const result = attempt();
      if (result.accepted) return;
      if (result.reason === 'stopped') return fail(new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the member stopped after a fatal error'));
      if (Date.now() >= deadline) {
        this.logger.debug({ reason: result.reason }, 'request refused by raft');
        return fail(
          new CairnError(
            ErrorCode.ERROR_CODE_NO_LEADER,
            `no leader was elected within ${this.timeouts.leaderWaitMs} ms (${result.reason}); is a majority of members up?`,
          ),
        );
      }
      setTimeout(() => this.enqueue(tryOnce), RETRY_MS).unref();
    };
    this.enqueue(tryOnce);
  }

  /**
   * Requests are handed to the core together, once the event loop has read every request
   * that already arrived: the driver starts a Ready as soon as it gets input, so feeding
   * requests one by one would cost one synced log write each instead of one per group.
   */
  private enqueue(work: () => void): void {
    this.queued.push(work);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const next of this.queued.splice(0)) next();
    });
  }
}

/**
 * A read-index request id, unique across the cluster and across restarts of the member: the
 * leader keys pending reads by context, so two members using the same counter value at once
 * would lose one of the reads, and a read state answering a request of an earlier
 * incarnation must not release a later read (its read point may predate that read).
 */
function readContext(memberId: number, id: number): Buffer {
  const context = Buffer.alloc(16);
  context.writeBigUInt64BE(BigInt(memberId), 0);
  context.writeBigUInt64BE(BigInt(id), 8);
  return context;
}

function parseReadContext(context: Uint8Array): { memberId: number; id: number } | undefined {
  if (context.byteLength !== 16) return undefined;
  const buf = Buffer.from(context.buffer, context.byteOffset, context.byteLength);
  return { memberId: Number(buf.readBigUInt64BE(0)), id: Number(buf.readBigUInt64BE(8)) };
}
