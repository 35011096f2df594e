import type { ConfChange } from '../raft/conf-change.js';
import { MessageType, type Message } from '../raft/message.js';
import type { ProgressState } from '../raft/progress.js';
import type { AppliedConfChange } from '../raft/raft.js';
import type { ConfChangeSubmitResult, RawNode } from '../raft/raw-node.js';
import type { Ready } from '../raft/ready.js';
import type { ConfState, NodeId, ReadState, StateRole, SubmitResult } from '../raft/types.js';
import type { PeerSender } from './ports/peer-sender.js';
import type { LogMemory } from './ports/log-memory.js';
import type { LogCompactionCause, RaftObserver } from './ports/raft-observer.js';
import type { PersistBatch, RaftLogPersistence } from './ports/raft-log-persistence.js';
import type { StateMachine } from './ports/state-machine.js';
import type { Ticker } from './ports/ticker.js';
import { coalesceMessages } from './coalesce-messages.js';

/** What the driver is built from; the I/O parts are the ports in ./ports/, implemented by the layers above. */
export interface RaftDriverOptions {
  readonly node: RawNode;
  readonly persistence: RaftLogPersistence;
  readonly sender: PeerSender;
  readonly stateMachine: StateMachine;
  readonly ticker: Ticker;
  /** Snapshot + compact after this many entries applied since the last snapshot (0 = never). */
  readonly snapshotEvery?: number;
  /** Entries kept below a new snapshot so slightly lagging followers avoid a snapshot. */
  readonly compactKeep?: number;
  /**
   * Cap on the entry bytes of a message merged from several of one Ready (see
   * coalesce-messages.ts); the core's maxSizePerMsg. Default 1 MiB.
   */
  readonly maxMergedEntryBytes?: number;
  /**
   * Bound on the bytes of entries the in-memory log (`log`, the storage the core reads)
   * holds: past `maxBytes` the driver compacts early, as snapshotEvery does by count (see
   * maybeCompact). Absent: bounded by count only.
   */
  readonly logMemoryBound?: { readonly maxBytes: number; readonly log: LogMemory };
  /** A linearizable read point, delivered once the state machine has applied up to it. */
  readonly onReadState?: (rs: ReadState) => void;
  /** The node stopped because of an I/O failure or a broken invariant; it must not be reused. */
  readonly onFatal?: (err: unknown) => void;
  /** Told of leader changes as the core reports them (metrics). */
  readonly observer?: Pick<RaftObserver, 'leaderChanged' | 'logCompacted'>;
  /**
   * The configuration changed: a committed conf change was applied (`change` set), or an
   * installed snapshot brought its configuration. Called in log order, after the state
   * machine applied everything up to `index`; the place to add or remove transport peers.
   */
  readonly onConfChange?: (event: ConfigChangeEvent) => void;
  /**
   * A committed conf change removed this member. The driver has sent its last messages
   * (a removed leader's hand-over) and stopped; the member must not serve again under its id.
   */
  readonly onRemoved?: (event: { readonly index: number; readonly confState: ConfState }) => void;
}

export interface ConfigChangeEvent {
  readonly index: number;
  readonly confState: ConfState;
  /** Absent when the configuration came with a snapshot. */
  readonly change?: ConfChange;
}

/** A conf change was appended at `index` but another entry was committed there (leadership changed). */
export class ConfChangeLostError extends Error {
  override readonly name = 'ConfChangeLostError';
}

/** proposeConfChange's answer: when accepted, `applied` settles once the change took effect. */
export type DriverConfChangeResult =
  | (Extract<ConfChangeSubmitResult, { accepted: true }> & { readonly applied: Promise<AppliedConfChange> })
  | Extract<ConfChangeSubmitResult, { accepted: false }>
  | { readonly accepted: false; readonly reason: 'stopped' };

/** This member's view of Raft, for the request path and diagnostics (see RaftDriver.status()). */
export interface DriverStatus {
  readonly id: NodeId;
  /** Compare with the core's StateRole (e.g. StateRole.Leader), not with strings. */
  readonly role: StateRole;
  /** The leader this member knows of; 0 (NONE) while none is known. */
  readonly leader: NodeId;
  readonly term: number;
  readonly commit: number;
  /** Applied by the state machine (the driver's count, ahead of the core's until advance()). */
  readonly applied: number;
  readonly lastIndex: number;
}

/** Leader only: how far each member's log (learners' too) is known to match the leader's. */
export type ReplicationProgress = ReadonlyMap<
  NodeId,
  { readonly match: number; readonly next: number; readonly state: ProgressState; readonly learner: boolean }
>;

export type DriverSubmitResult = SubmitResult | { readonly accepted: false; readonly reason: 'stopped' };
const DEFAULT_MAX_MERGED_ENTRY_BYTES = 1024 * 1024;
const STOPPED: DriverSubmitResult = { accepted: false, reason: 'stopped' };
const STOPPED_CC: DriverConfChangeResult = { accepted: false, reason: 'stopped' };

/**
 * Owns all I/O around one Raft core. Inputs (ticks, peer messages, proposals) are fed to the
 * core synchronously; a single processing loop turns each Ready into I/O:
 *
 *   0. SEND EARLY a leader's appends and heartbeats of a term already on disk, so that the
 *      followers write the new entries while the leader writes them (Raft thesis §10.2.1).
 *      Safe because the core counts the leader's own entries toward a quorum only when
 *      step 4 steps its self-acknowledgement, after its write: a commit index carried by
 *      these messages never counts an entry the leader has not made durable, and entries
 *      that a majority of followers made durable are committed whether or not the leader
 *      crashes before its own write. A term not yet durable holds them back (the messages
 *      would speak for a term this node could forget).
 *   1. PERSIST snapshot + entries + hard state, and AWAIT the synced write.
 *      Every other outgoing message may depend on it: a vote grant on the persisted vote,
 *      an append ack on the persisted entries. Sending first could, after a crash, let a
 *      node vote twice in a term or ack an entry it no longer has, breaking election safety
 *      or losing a committed entry.
 *   2. SEND the remaining messages (fire and forget).
 *   3. APPLY: restore the snapshot, then apply committed entries, in order. They are durable
 *      (step 1 of this or an earlier Ready), so applying can never get ahead of the log.
 *   4. ADVANCE the core: marks entries stable (the leader now counts itself) and applied.
 *   5. Release read states whose index is applied; maybe snapshot + compact (by count of
 *      applied entries, or by bytes held in memory: see maybeCompact).
 *
 * Before step 0, a Ready's messages to one peer are merged where the peer ends in the same
 * state either way (coalesce-messages.ts): the core makes one append per proposal and follower.
 *
 * Only one Ready is processed at a time; inputs that arrive meanwhile are stepped into the
 * core and show up in the next Ready. Any failure is fatal: the driver stops and reports it.
 *
 * The loop is written with explicit continuations rather than `await`: a step whose I/O
 * returns a value (not a thenable) continues synchronously, and a thenable is continued
 * exactly when it settles. So the driver adds no scheduling of its own, and a simulator whose
 * disk settles thenables from its event queue runs this very code deterministically.
 */
export class RaftDriver {
  private readonly node: RawNode;
  private readonly opts: RaftDriverOptions;
  private running = false;
  private stopped = false;
  private started = false;
  private applied: number;
  private lastSnapshotIndex: number;
  private pendingReads: ReadState[] = [];
  /** The last leader the core reported, to tell the observer of changes. */
  private reportedLeader = 0;
  /** Waiters of accepted conf changes by log index (at most one at a time, by the core's rule). */
  private readonly confWaiters = new Map<number, { term: number; resolve: (a: AppliedConfChange) => void; reject: (e: Error) => void }>();
  /** The term of the last hard state written: a leader's messages of this term may leave before its write. */
  private durableTerm: number;
  /** Set when the core reported this member removed: stop once the last Ready is out. */
  private removedAt: { index: number; confState: ConfState } | undefined = undefined;

  constructor(opts: RaftDriverOptions) {
    this.opts = opts;
    this.node = opts.node;
    const st = opts.node.status();
    this.durableTerm = st.term;
    this.applied = st.applied;
    this.lastSnapshotIndex = st.firstIndex - 1;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    // Restarted after its removal was applied (the core replayed it): never serve again.
    if (this.node.removed) {
      const st = this.node.status();
      this.finishRemoval({ index: st.applied, confState: st.confState });
      return;
    }
    this.opts.ticker.start(() => this.input(() => this.node.tick()));
    this.kick();
  }

  /** Stops processing; an in-flight write may still complete but nothing further happens. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.opts.ticker.stop();
    for (const w of this.confWaiters.values()) w.reject(new ConfChangeLostError('the member stopped before the conf change applied'));
    this.confWaiters.clear();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** True while a Ready is being processed (awaiting disk or the state machine). */
  get isBusy(): boolean {
    return this.running;
  }

  /** Cheap; safe on every request. */
  status(): DriverStatus {
    const s = this.node.basicStatus();
    return { id: s.id, role: s.role, leader: s.lead, term: s.term, commit: s.commit, applied: this.applied, lastIndex: s.lastIndex };
  }

  /** Leader only (empty otherwise): per-member replication progress, e.g. to pick a successor. */
  progress(): ReplicationProgress {
    return this.node.status().progress;
  }

  /** The configuration in effect on this member (as of its applied index). */
  confState(): ConfState {
    return this.node.status().confState;
  }

  /**
   * Proposes a membership change on the leader (see RawNode.proposeConfChange for the rules
   * and refusals). When accepted, `applied` resolves once the change took effect here, or
   * rejects with ConfChangeLostError if another entry was committed at its index or the
   * member stopped first.
   */
  proposeConfChange(cc: ConfChange): DriverConfChangeResult {
    if (this.stopped) return STOPPED_CC;
    let r: ConfChangeSubmitResult | undefined;
    this.input(() => {
      r = this.node.proposeConfChange(cc);
    });
    if (r === undefined) return STOPPED_CC;
    const accepted = r;
    if (!accepted.accepted) return accepted;
    const applied = new Promise<AppliedConfChange>((resolve, reject) => {
      this.confWaiters.set(accepted.index, { term: accepted.term, resolve, reject });
    });
    return { ...accepted, applied };
  }

  /**
   * The core itself, for the simulator's invariant checks and tests only: server code uses
   * status() and progress(), which do not depend on the core's internals.
   */
  get rawNode(): RawNode {
    return this.node;
  }

  step(msg: Message): void {
    this.input(() => this.node.step(msg));
  }

  propose(data: Uint8Array): DriverSubmitResult {
    return this.submit(() => this.node.propose(data));
  }

  readIndex(context: Uint8Array): DriverSubmitResult {
    return this.submit(() => this.node.readIndex(context));
  }

  transferLeadership(to: NodeId): DriverSubmitResult {
    return this.submit(() => this.node.transferLeadership(to));
  }

  campaign(): void {
    this.input(() => this.node.campaign());
  }

  reportSnapshot(to: NodeId, failed: boolean): void {
    this.input(() => this.node.reportSnapshot(to, failed));
  }

  reportUnreachable(to: NodeId): void {
    this.input(() => this.node.reportUnreachable(to));
  }

  private submit(f: () => SubmitResult): DriverSubmitResult {
    if (this.stopped) return STOPPED;
    let r: DriverSubmitResult = STOPPED;
    this.input(() => {
      r = f();
    });
    return r;
  }

  private input(f: () => void): void {
    if (this.stopped) return;
    try {
      f();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.kick();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    for (;;) {
      if (this.stopped) return;
      if (!this.node.hasReady()) {
        this.running = false;
        if (this.removedAt !== undefined) this.finishRemoval(this.removedAt);
        return;
      }
      let waiting = false;
      let finished = false;
      this.guard(() =>
        this.process(this.node.ready(), () => {
          if (!waiting) {
            finished = true; // completed synchronously: keep looping here
            return;
          }
          // Resumed after I/O settled: inputs that arrived meanwhile may have produced a Ready.
          this.running = false;
          this.kick();
        }),
      );
      if (!finished) {
        waiting = true;
        return;
      }
    }
  }

  /** Runs steps 1-5 for one Ready, calling `done` when all of it completed. */
  private process(rd: Ready, done: () => void): void {
    if (rd.softState !== undefined && rd.softState.lead !== this.reportedLeader) {
      this.reportedLeader = rd.softState.lead;
      if (rd.softState.lead !== 0) this.opts.observer?.leaderChanged();
    }
    // One message per peer where the core made several (each costs both ends a step and an answer).
    const messages = coalesceMessages(rd.messages, this.opts.maxMergedEntryBytes ?? DEFAULT_MAX_MERGED_ENTRY_BYTES);
    if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
      // 0. a leader's replication leaves now, the rest after the write
      const early: Message[] = [];
      const later: Message[] = [];
      for (const m of messages) (this.mayLeaveBeforeWrite(m) ? early : later).push(m);
      if (early.length > 0) this.opts.sender.send(early);
      // 1. persist (synced) before anything that depends on it leaves this node
      const batch: PersistBatch = {
        entries: rd.entries,
        mustSync: rd.mustSync,
        ...(rd.hardState !== undefined ? { hardState: rd.hardState } : {}),
        ...(rd.snapshot !== undefined ? { snapshot: rd.snapshot } : {}),
      };
      this.settle(this.opts.persistence.save(batch), () => {
        if (rd.hardState !== undefined) this.durableTerm = rd.hardState.term;
        this.afterPersist(rd, later, done);
      });
      return;
    }
    this.afterPersist(rd, messages, done);
  }

  /** A leader's append or heartbeat of a term already durable (see step 0 above). */
  private mayLeaveBeforeWrite(m: Message): boolean {
    return (m.type === MessageType.App || m.type === MessageType.Heartbeat) && m.term === this.durableTerm;
  }

  private afterPersist(rd: Ready, messages: readonly Message[], done: () => void): void {
    // 2. send
    if (messages.length > 0) this.opts.sender.send(messages);
    // 3. apply: snapshot first, then the entries after it
    const snap = rd.snapshot;
    this.settle(snap === undefined ? undefined : this.opts.stateMachine.restore(snap), () => {
      if (snap !== undefined) {
        this.applied = snap.index;
        this.lastSnapshotIndex = snap.index;
      }
      const last = rd.committedEntries[rd.committedEntries.length - 1];
      this.settle(last === undefined ? undefined : this.opts.stateMachine.apply(rd.committedEntries), () => {
        if (last !== undefined) this.applied = last.index;
        // 4. advance (conf changes among the applied entries take effect now)
        const changes = this.node.advance(rd);
        if (snap !== undefined) this.opts.onConfChange?.({ index: snap.index, confState: snap.confState });
        for (const c of changes) this.confChangeApplied(c);
        this.settleConfWaiters(rd, changes);
        // 5. reads and compaction
        for (const rs of rd.readStates) this.pendingReads.push(rs);
        this.releaseReads();
        this.maybeCompact(done);
      });
    });
  }

  private confChangeApplied(c: AppliedConfChange): void {
    this.opts.onConfChange?.({ index: c.index, confState: c.confState, change: c.change });
    if (this.node.removed && this.removedAt === undefined) this.removedAt = { index: c.index, confState: c.confState };
  }

  /** Resolves the waiter whose index was applied, or rejects it if another entry took its place. */
  private settleConfWaiters(rd: Ready, changes: readonly AppliedConfChange[]): void {
    if (this.confWaiters.size === 0) return;
    if (rd.snapshot !== undefined) {
      for (const [index, w] of this.confWaiters) {
        if (index > rd.snapshot.index) continue;
        this.confWaiters.delete(index);
        w.reject(new ConfChangeLostError(`a snapshot covered index ${index}: outcome unknown, read the configuration`));
      }
    }
    for (const e of rd.committedEntries) {
      const w = this.confWaiters.get(e.index);
      if (w === undefined) continue;
      this.confWaiters.delete(e.index);
      const applied = changes.find((c) => c.index === e.index);
      if (e.term === w.term && applied !== undefined) w.resolve(applied);
      else w.reject(new ConfChangeLostError(`another entry (term ${e.term}) was committed at index ${e.index}`));
    }
  }

  /** Removed: the last messages (a removed leader's hand-over) are out; stop for good. */
  private finishRemoval(at: { index: number; confState: ConfState }): void {
    this.stop();
    this.opts.onRemoved?.(at);
  }

  private releaseReads(): void {
    if (this.pendingReads.length === 0) return;
    const keep: ReadState[] = [];
    for (const rs of this.pendingReads) {
      if (rs.index <= this.applied) this.opts.onReadState?.(rs);
      else keep.push(rs);
    }
    this.pendingReads = keep;
  }

  /**
   * Step 5's compaction: records a snapshot point at the applied index and discards the log
   * below it, keeping some entries so that slightly lagging followers need no snapshot. Due
   *  - by count: `snapshotEvery` entries applied since the last snapshot (etcd's --snapshot-count);
   *  - by bytes: the entries held in memory exceed `logMemoryBound.maxBytes`, and compacting
   *    would discard some of them (10,000 entries of 1.5 MiB requests would otherwise hold 15 GiB).
   * Raft safety: only applied entries are ever discarded. They are durable in the log (step 1
   * of their Ready) and their effect is in the state machine, which the compaction's synced
   * write makes durable with it (RaftLogPersistence.compact); entries not yet committed or
   * applied stay, so a log holding more than the bound in such entries stays above it until
   * they apply. A follower that needs a discarded entry gets a snapshot, which is streamed
   * from the engine, not from memory.
   * With a bound, the entries kept for followers are limited to half of it in bytes as well as
   * to `compactKeep` in count: each compaction by bytes frees at least half the bound, so the
   * next one is that many bytes of writes away rather than one write.
   * Keeping old entries on disk only and reading them back for followers was the alternative;
   * it is not possible while the core reads its storage synchronously (etcd-io/raft's
   * MemoryStorage holds the same entries in memory, bounded by etcd's count alone).
   */
  private maybeCompact(done: () => void): void {
    const stateMachine = this.opts.stateMachine;
    const cause = this.compactionDue();
    if (cause === undefined || stateMachine.snapshot === undefined) {
      done();
      return;
    }
    const index = this.applied;
    this.settle(stateMachine.snapshot(), (data) => {
      const compactIndex = this.compactIndexFor(index);
      const confState = this.node.status().confState;
      this.settle(this.opts.persistence.compact({ index, confState, data }, compactIndex), () => {
        this.lastSnapshotIndex = index;
        this.opts.observer?.logCompacted(cause);
        done();
      });
    });
  }

  private compactionDue(): LogCompactionCause | undefined {
    const every = this.opts.snapshotEvery ?? 0;
    if (every > 0 && this.applied - this.lastSnapshotIndex >= every) return 'entries';
    const bound = this.opts.logMemoryBound;
    if (bound === undefined || bound.log.heldBytes() <= bound.maxBytes) return undefined;
    // Over the bound in entries that may not be discarded yet (unapplied, or the log already
    // starts at the point a compaction would choose): nothing to do until more apply.
    return this.compactIndexFor(this.applied) >= this.node.basicStatus().firstIndex ? 'bytes' : undefined;
  }

  /** Where a compaction at snapshot `index` cuts the log: see maybeCompact for what is kept. */
  private compactIndexFor(index: number): number {
    const byCount = Math.max(this.lastSnapshotIndex, index - (this.opts.compactKeep ?? 0));
    const bound = this.opts.logMemoryBound;
    if (bound === undefined) return byCount;
    return Math.max(byCount, bound.log.compactIndexKeeping(index, Math.floor(bound.maxBytes / 2)));
  }

  /** Continues with `next(value)`: at once for a plain value, on settlement for a thenable. */
  private settle<T>(x: T | PromiseLike<T>, next: (v: T) => void): void {
    if (isThenable(x)) {
      x.then(
        (v) => this.guard(() => next(v)),
        (err: unknown) => this.fail(err),
      );
    } else {
      this.guard(() => next(x));
    }
  }

  /** Runs a step unless stopped; any exception stops the node (fatal). */
  private guard(f: () => void): void {
    if (this.stopped) return;
    try {
      f();
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    const first = !this.stopped;
    this.stop();
    if (!first) return;
    if (this.opts.onFatal !== undefined) this.opts.onFatal(err);
    else
      queueMicrotask(() => {
        throw err;
      });
  }
}

function isThenable<T>(x: T | PromiseLike<T>): x is PromiseLike<T> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}
