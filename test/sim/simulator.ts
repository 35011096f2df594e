import type { ConfigChangeEvent } from '../../server/node/raft-driver.js';
import { RaftDriver } from '../../server/node/raft-driver.js';
import type { ConfChange } from '../../server/raft/conf-change.js';
import { ConfChangeType } from '../../server/raft/conf-change.js';
import type { Ticker } from '../../server/node/ports/ticker.js';
import { InvariantError } from '../../server/raft/errors.js';
import { RawNode } from '../../server/raft/raw-node.js';
import type { ConfState, Entry, NodeId, ReadState } from '../../server/raft/types.js';
import { ClientRequests } from './client-requests.js';
import { EventQueue } from './event-queue.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { Prng } from './prng.js';
import type { DiskFaults } from './sim-disk.js';
import { SimDisk, SimPersistence } from './sim-disk.js';
import type { NetworkFaults } from './sim-network.js';
import { SimNetwork } from './sim-network.js';
import { SimStateMachine } from './sim-state-machine.js';

const TICK_MS = 10;
const ELECTION_TICK = 10;
const HEARTBEAT_TICK = 2;
/*
 * Liveness bounds are counted in election timeouts, in ticks (virtual ms = ticks x TICK_MS;
 * each member's tick period is skewed by up to 10%, hence the generous multiples).
 */
/** After healing, a fresh proposal must be applied everywhere within this bound. */
export const LIVENESS_BOUND_TICKS = 50 * ELECTION_TICK;
export const LIVENESS_BOUND_MS = LIVENESS_BOUND_TICKS * TICK_MS;
/**
 * After healing, every client request issued since the last disturbance (see
 * ClientRequests) must complete or be rejected within this bound, counted from the later of
 * its issue and the healing: time for an election or two, the backlog's replication and a
 * read round.
 */
export const REQUEST_BOUND_TICKS = 20 * ELECTION_TICK;
export const REQUEST_BOUND_MS = REQUEST_BOUND_TICKS * TICK_MS;
/** A leadership transfer may silently drop forwarded proposals this long after it was requested. */
const TRANSFER_WINDOW_MS = 5 * ELECTION_TICK * TICK_MS;
/** Full pairwise log comparison every this many steps (plus at the end). */
const FULL_CHECK_EVERY = 2000;

export interface SimResult {
  readonly seed: number;
  readonly members: number;
  readonly steps: number;
  readonly virtualMs: number;
  readonly committed: number;
  readonly crashes: number;
  readonly fsyncFailures: number;
  readonly partitions: number;
  readonly reads: number;
  readonly snapshotsInstalled: number;
  readonly leaderElections: number;
  /** Membership changes proposed (accepted by a leader) and applied; members added and removed. */
  readonly membership: { proposed: number; applied: number; added: number; removed: number };
  /** Client proposals and reads issued, completed, rejected at once, excused by a disturbance. */
  readonly requests: { issued: number; completed: number; rejected: number; excused: number };
  /** Slowest completion (virtual ms) of a client request no disturbance excused. */
  readonly maxRequestMs: number;
  /** Virtual ms from healing until the liveness proposal was applied everywhere. */
  readonly livenessMs: number;
  /** Per member "applied:hash": equal across runs of one seed (determinism). */
  readonly fingerprint: string;
}

export interface SimOptions {
  /** Print every traced event as it happens. */
  readonly trace?: boolean;
  /** Sabotage: disks acknowledge writes before they are durable (the checker must notice). */
  readonly lyingDisk?: boolean;
  /** Sabotage: read states never reach the client, as if the driver lost them (the liveness check must notice). */
  readonly loseReadStates?: boolean;
}

export class SimulationFailure extends Error {
  override readonly name = 'SimulationFailure';
}

/** Ticks driven by the event queue, with a per-member phase and slightly skewed period. */
class SimTicker implements Ticker {
  private stopped = false;

  constructor(
    private readonly queue: EventQueue,
    private readonly period: number,
    private readonly phase: number,
  ) {}

  start(onTick: () => void): void {
    const loop = (): void => {
      if (this.stopped) return;
      onTick();
      this.queue.schedule(this.period, loop);
    };
    this.queue.schedule(this.phase, loop);
  }

  stop(): void {
    this.stopped = true;
  }
}

interface Member {
  readonly id: NodeId;
  readonly disk: SimDisk;
  driver: RaftDriver | undefined;
  sm: SimStateMachine | undefined;
  /** Removed from the cluster (told by its driver, or stopped by the operator after healing): never restarted. */
  removed: boolean;
  /** role@term/lead last seen: for the trace, and a change is a disturbance for client requests. */
  lastView: string;
}

interface Config {
  readonly size: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxInflightMsgs: number;
  readonly maxSizePerMsg: number;
  readonly snapshotEvery: number;
  readonly compactKeep: number;
  /** The driver's bound on the in-memory log's bytes (0: none); entries of the sim are ~20 bytes. */
  readonly logMemoryBytes: number;
  readonly faultPhaseMs: number;
  /** Range of virtual ms between fault injections (some seeds are much more violent). */
  readonly chaosEvery: readonly [number, number];
  /** Membership changes (add learner, promote, remove, the leader included) during the fault phase. */
  readonly membership: boolean;
}

/** Members never exceed this many (voters and learners), so a change can always be tried. */
const MAX_MEMBERS = 7;

/**
 * One seeded run of a 1-, 3- or 5-member cluster: a fault phase (random drops, duplicates,
 * delays, partitions, crashes that lose unsynced writes, fsync failures, leadership
 * transfers, client proposals and reads; in half of the seeds membership changes too: learners
 * added (started once their addition applies), promoted, members removed, the leader
 * included), then a healed liveness phase that must commit a new
 * proposal on every member of the latest configuration within LIVENESS_BOUND_MS while the clients keep going, and in
 * which every client request issued since the last disturbance completes or is rejected
 * within REQUEST_BOUND_MS (see ClientRequests). Safety invariants are checked after every
 * event.
 */
export class Simulation {
  private readonly rng: Prng;
  private readonly queue = new EventQueue();
  private readonly checker = new InvariantChecker();
  private readonly network: SimNetwork;
  private readonly members = new Map<NodeId, Member>();
  /** Every member ever started, removed ones included (new ones are appended as they join). */
  private readonly ids: NodeId[];
  /** The configuration of the highest-index conf change applied anywhere: the cluster's latest. */
  private latestConf: { index: number; confState: ConfState } | undefined = undefined;
  private readonly membershipCounts = { proposed: 0, applied: 0, added: 0, removed: 0 };
  private readonly appliedChangeIndexes = new Set<number>();
  private readonly cfg: Config;
  private diskFaults: DiskFaults = { minLatency: 1, maxLatency: 5, fsyncFailure: 0 };
  private failure: Error | undefined = undefined;
  private healed = false;
  /** Clients stop issuing requests once the liveness proposal is applied everywhere. */
  private clientsStopped = false;
  private proposalSeq = 0;
  private readonly pendingReads = new Map<string, number>();
  private readonly requests = new ClientRequests();
  private droppedSeen = 0;
  private readonly trace: string[] = [];
  private steps = 0;
  private crashes = 0;
  private fsyncFailures = 0;
  private partitions = 0;
  private reads = 0;
  private snapshotsInstalled = 0;
  private leaderElections = 0;

  constructor(
    readonly seed: number,
    private readonly options: SimOptions = {},
  ) {
    this.rng = new Prng(seed);
    const r = this.rng;
    this.cfg = {
      size: r.pick([1, 3, 3, 5, 5]),
      preVote: r.chance(0.8),
      checkQuorum: r.chance(0.75),
      maxInflightMsgs: r.pick([1, 2, 4, 64]),
      maxSizePerMsg: r.pick([1, 64, 1024 * 1024]),
      snapshotEvery: r.pick([0, 5, 10, 25]),
      compactKeep: r.pick([0, 2, 10]),
      // Taken from the seed, not drawn from the PRNG, so that every older seed replays as before.
      logMemoryBytes: [0, 0, 0, 250, 1000][seed % 5] ?? 0,
      faultPhaseMs: r.between(1500, 5000),
      chaosEvery: r.pick([
        [20, 250],
        [10, 80],
      ] as const),
      membership: r.chance(0.5),
    };
    this.ids = Array.from({ length: this.cfg.size }, (_, i) => i + 1);
    this.network = new SimNetwork(this.queue, r.fork(), (id) => {
      const d = this.members.get(id)?.driver;
      if (d === undefined) return undefined;
      return { deliver: (m) => d.step(m), reportSnapshot: (to, failed) => d.reportSnapshot(to, failed) };
    });
    for (const id of this.ids)
      this.members.set(id, {
        id,
        disk: new SimDisk(this.ids, this.options.lyingDisk === true),
        driver: undefined,
        sm: undefined,
        removed: false,
        lastView: '',
      });
  }

  private log(msg: string): void {
    const line = `[t=${this.queue.now} step=${this.steps}] ${msg}`;
    if (this.options.trace === true) console.log(line);
    this.trace.push(line);
    if (this.trace.length > 60) this.trace.shift();
  }

  private start(id: NodeId): void {
    const m = this.members.get(id)!;
    const storage = m.disk.durable;
    const snap = storage.snapshot();
    const sm = new SimStateMachine(id, this.checker, snap.index > 0 ? snap : undefined, (value) =>
      this.requests.complete(value, this.queue.now),
    );
    const node = new RawNode({
      id,
      storage,
      random: this.rng.fork(),
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      applied: snap.index,
      preVote: this.cfg.preVote,
      checkQuorum: this.cfg.checkQuorum,
      maxInflightMsgs: this.cfg.maxInflightMsgs,
      maxSizePerMsg: this.cfg.maxSizePerMsg,
    });
    const driver = new RaftDriver({
      node,
      persistence: new SimPersistence(id, m.disk, this.queue, this.rng.fork(), () => this.diskFaults, this.checker),
      sender: { send: (msgs) => this.network.send(msgs) },
      stateMachine: sm,
      ticker: new SimTicker(this.queue, TICK_MS + this.rng.between(-1, 1), this.rng.between(1, TICK_MS)),
      snapshotEvery: this.cfg.snapshotEvery,
      compactKeep: this.cfg.compactKeep,
      ...(this.cfg.logMemoryBytes > 0
        ? {
            logMemoryBound: {
              maxBytes: this.cfg.logMemoryBytes,
              log: {
                heldBytes: () => m.disk.durable.heldBytes(),
                compactIndexKeeping: (upTo: number, maxBytes: number) => m.disk.durable.compactIndexKeeping(upTo, maxBytes),
              },
            },
          }
        : {}),
      onReadState: (rs) => this.onReadState(id, rs),
      onFatal: (err) => this.onFatal(id, err),
      onConfChange: (ev) => this.onConfChange(id, ev),
      onRemoved: () => this.onRemoved(id),
    });
    m.driver = driver;
    m.sm = sm;
    m.lastView = '';
    this.requests.disturb();
    this.checker.onRestart(id, storage.initialState().hardState.commit);
    driver.start();
  }

  private crash(id: NodeId, why: string): void {
    const m = this.members.get(id)!;
    if (m.driver === undefined) return;
    this.snapshotsInstalled += m.sm?.restores ?? 0;
    m.driver.stop();
    m.disk.crash();
    m.driver = undefined;
    m.sm = undefined;
    this.crashes++;
    this.requests.disturb();
    this.log(`crash ${id} (${why})`);
  }

  /**
   * A member applied a conf change. Like the server, the cluster starts a new member once
   * its addition is applied, with the configuration that added it.
   */
  private onConfChange(id: NodeId, ev: ConfigChangeEvent): void {
    if (ev.change === undefined) return;
    if (this.latestConf === undefined || ev.index > this.latestConf.index) {
      this.latestConf = { index: ev.index, confState: ev.confState };
      // A removal proposed before healing may apply after it.
      if (this.healed) this.queue.schedule(0, () => this.retireFormerMembers());
    }
    if (!this.appliedChangeIndexes.has(ev.index)) {
      this.appliedChangeIndexes.add(ev.index);
      this.membershipCounts.applied++;
      this.log(`member ${id} applied ${ev.change.type} ${ev.change.nodeId} at ${ev.index}: ${JSON.stringify(ev.confState)}`);
    }
    const newId = ev.change.nodeId;
    if (ev.change.type !== ConfChangeType.AddLearner || this.members.has(newId)) return;
    const { voters, learners } = ev.confState;
    if (!(learners ?? []).includes(newId)) return; // the change did not apply (cannot happen: validated)
    this.members.set(newId, {
      id: newId,
      disk: new SimDisk(voters, this.options.lyingDisk === true, learners ?? []),
      driver: undefined,
      sm: undefined,
      removed: false,
      lastView: '',
    });
    this.ids.push(newId);
    this.membershipCounts.added++;
    this.queue.schedule(0, () => {
      if (this.members.get(newId)!.driver === undefined && !this.members.get(newId)!.removed) {
        this.log(`start new member ${newId}`);
        this.start(newId);
      }
    });
  }

  /** The driver stopped itself: this member was removed. It stays down for good. */
  private onRemoved(id: NodeId): void {
    const m = this.members.get(id)!;
    m.removed = true;
    this.membershipCounts.removed++;
    this.snapshotsInstalled += m.sm?.restores ?? 0;
    m.driver = undefined;
    m.sm = undefined;
    this.requests.disturb();
    this.log(`member ${id} was removed and stopped`);
  }

  /** Proposes a random membership change on the leader (refusals are part of the test). */
  private changeMembership(leader: Member): void {
    const r = this.rng;
    const conf = leader.driver!.confState();
    const learners = conf.learners ?? [];
    const size = conf.voters.length + learners.length;
    let cc: ConfChange;
    const x = r.next();
    if (learners.length > 0 && x < 0.4) cc = { type: ConfChangeType.PromoteLearner, nodeId: r.pick(learners) };
    else if (size < MAX_MEMBERS && x < 0.75) cc = { type: ConfChangeType.AddLearner, nodeId: this.ids.length + 1 };
    else cc = { type: ConfChangeType.RemoveMember, nodeId: r.pick([...conf.voters, ...learners]) };
    const res = leader.driver!.proposeConfChange(cc);
    if (res.accepted) {
      this.membershipCounts.proposed++;
      // The waiter may be rejected when the change is lost or the member stops: expected here.
      res.applied.catch(() => undefined);
    }
    this.log(`propose ${cc.type} ${cc.nodeId} on leader ${leader.id}: ${res.accepted ? 'accepted' : `refused (${res.reason})`}`);
  }

  private scheduleMembership(): void {
    this.queue.schedule(this.rng.between(50, 400), () => {
      if (this.healed) return;
      const leader = this.leader();
      if (leader !== undefined) this.changeMembership(leader);
      this.scheduleMembership();
    });
  }

  private onFatal(id: NodeId, err: unknown): void {
    if (err instanceof InvariantViolation || err instanceof InvariantError) {
      this.failure ??= err;
      return;
    }
    if (err instanceof Error && err.message.startsWith('simulated fsync failure')) {
      // The driver stopped the node, as it must. Model it as a crash; restart later.
      this.fsyncFailures++;
      this.queue.schedule(0, () => {
        this.crash(id, 'fsync failure');
        // After healing nothing else restarts members; an operator would.
        if (this.healed) this.queue.schedule(50, () => this.start(id));
      });
      return;
    }
    this.failure ??= err instanceof Error ? err : new Error(String(err));
  }

  private onReadState(id: NodeId, rs: ReadState): void {
    if (this.options.loseReadStates === true) return;
    const key = new TextDecoder().decode(rs.context);
    const required = this.pendingReads.get(key);
    if (required === undefined) return; // duplicate delivery of an answered read
    // Linearizability of ReadIndex: the read point covers every entry committed anywhere
    // before the read was issued, and the state machine has applied it.
    if (rs.index < required) {
      this.failure ??= new InvariantViolation(`read ${key} on member ${id} at index ${rs.index} misses commit ${required}`);
    }
    const applied = this.members.get(id)!.sm?.applied ?? 0;
    if (applied < rs.index) {
      this.failure ??= new InvariantViolation(`read ${key} released on member ${id} before applying ${rs.index} (applied ${applied})`);
    }
    this.pendingReads.delete(key);
    this.reads++;
    this.requests.complete(key, this.queue.now);
  }

  private up(): Member[] {
    return [...this.members.values()].filter((m) => m.driver !== undefined);
  }

  /** Members that are down and may be restarted (not removed ones). */
  private down(): Member[] {
    return [...this.members.values()].filter((m) => m.driver === undefined && !m.removed);
  }

  /** Proposes on a random live member; a client's proposals are tracked until applied. */
  private propose(value: string, client: boolean): void {
    const ups = this.up();
    if (ups.length === 0) return;
    const member = this.rng.pick(ups);
    if (client) this.requests.issue('propose', value, member.id, this.queue.now);
    const r = member.driver!.propose(new TextEncoder().encode(value));
    if (client && !r.accepted) this.requests.reject(value);
  }

  private read(): void {
    const ups = this.up();
    if (ups.length === 0) return;
    const key = `r${++this.proposalSeq}`;
    const member = this.rng.pick(ups);
    this.pendingReads.set(key, this.checker.maxCommitted);
    this.requests.issue('read', key, member.id, this.queue.now);
    const r = member.driver!.readIndex(new TextEncoder().encode(key));
    if (!r.accepted) {
      this.pendingReads.delete(key);
      this.requests.reject(key);
    }
  }

  private scheduleClient(): void {
    this.queue.schedule(this.rng.between(2, 30), () => {
      if (this.clientsStopped) return;
      this.propose(`v${++this.proposalSeq}`, true);
      if (this.rng.chance(0.2)) this.read();
      this.scheduleClient();
    });
  }

  private randomNetworkFaults(): NetworkFaults {
    const r = this.rng;
    return {
      drop: r.pick([0, 0.01, 0.05, 0.2]),
      duplicate: r.pick([0, 0.02, 0.1]),
      minDelay: 1,
      maxDelay: r.pick([5, 15, 40]),
      slow: r.pick([0, 0.02, 0.1]),
      slowDelay: r.pick([50, 200]),
    };
  }

  private leader(): Member | undefined {
    let best: Member | undefined = undefined;
    let bestTerm = -1;
    for (const m of this.up()) {
      const st = m.driver!.rawNode.basicStatus();
      if (st.role === 'leader' && st.term > bestTerm) {
        best = m;
        bestTerm = st.term;
      }
    }
    return best;
  }

  private randomSplit(): [NodeId[], NodeId[]] {
    const shuffled = [...this.ids];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = this.rng.nextInt(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const cut = this.rng.between(1, this.ids.length - 1);
    return [shuffled.slice(0, cut), shuffled.slice(cut)];
  }

  /** Crash, then restart after a random downtime (short downtimes stress lost unsynced writes). */
  private crashAndMaybeRestart(id: NodeId, why: string): void {
    this.crash(id, why);
    if (this.rng.chance(0.7)) {
      this.queue.schedule(this.rng.between(0, 150), () => {
        if (this.members.get(id)!.driver === undefined && !this.members.get(id)!.removed && !this.healed) {
          this.log(`restart ${id}`);
          this.start(id);
        }
      });
    }
  }

  private scheduleChaos(): void {
    this.queue.schedule(this.rng.between(this.cfg.chaosEvery[0], this.cfg.chaosEvery[1]), () => {
      if (this.healed) return;
      const r = this.rng;
      const x = r.next();
      const leader = this.leader();
      if (x < 0.14) {
        if (this.ids.length > 1) {
          const [a, b] = this.randomSplit();
          if (r.chance(0.25)) {
            // one-way: a cannot reach b, but b still reaches a
            for (const x1 of a) for (const y of b) this.network.cutLink(x1, y);
            this.log(`one-way cut ${a.join(',')} -/-> ${b.join(',')}`);
          } else {
            this.network.partition([a, b]);
            this.log(`partition ${a.join(',')} | ${b.join(',')}`);
          }
          this.partitions++;
        }
      } else if (x < 0.22) {
        if (leader !== undefined && this.ids.length > 1) {
          this.network.partition([[leader.id], this.ids.filter((i) => i !== leader.id)]);
          this.partitions++;
          this.log(`isolate leader ${leader.id}`);
        }
      } else if (x < 0.32) {
        this.network.heal();
        this.log('heal network');
      } else if (x < 0.47) {
        if (leader !== undefined && this.up().length > 1) this.crashAndMaybeRestart(leader.id, 'leader crash');
      } else if (x < 0.57) {
        const ups = this.up();
        // A one-member cluster is down until the restart (an outage, then a fresh election).
        if (ups.length > 1 || (this.ids.length === 1 && ups.length === 1)) this.crashAndMaybeRestart(r.pick(ups).id, 'chaos');
      } else if (x < 0.72) {
        const downs = this.down();
        if (downs.length > 0) {
          const id = r.pick(downs).id;
          this.log(`restart ${id}`);
          this.start(id);
        }
      } else if (x < 0.87) {
        this.network.faults = this.randomNetworkFaults();
        const [lo, hi] = r.pick([
          [1, 3],
          [1, 10],
          [5, 40],
        ] as const);
        this.diskFaults = { minLatency: lo, maxLatency: hi, fsyncFailure: r.pick([0, 0, 0.002, 0.01]) };
      } else if (x < 0.93) {
        const ups = this.up();
        if (ups.length > 0) {
          const to = r.pick(this.ids);
          r.pick(ups).driver!.transferLeadership(to);
          this.log(`transfer leadership to ${to} requested`);
          if (to !== leader?.id) {
            // While the leader transfers, it drops forwarded proposals without telling anyone.
            this.requests.disturb();
            this.queue.schedule(TRANSFER_WINDOW_MS, () => this.requests.disturb());
          }
        }
      }
      this.scheduleChaos();
    });
  }

  private checkStep(): void {
    for (const m of this.members.values()) {
      const d = m.driver;
      if (d === undefined) continue;
      const node = d.rawNode;
      const st = node.basicStatus();
      const view = `${st.role}@${st.term}/${st.lead}`;
      if (view !== m.lastView) {
        if (st.role === 'leader') {
          this.leaderElections++;
          this.log(`member ${m.id} leads term ${st.term} (last index ${st.lastIndex}, commit ${st.commit})`);
        }
        m.lastView = view;
        // Leadership changed somewhere: pending reads and forwards may be lost.
        this.requests.disturb();
      }
      this.checker.check({
        id: m.id,
        term: st.term,
        role: st.role,
        commit: st.commit,
        firstIndex: st.firstIndex,
        lastIndex: st.lastIndex,
        termAt: (i) => node.termAt(i),
        durableCommit: m.disk.durable.initialState().hardState.commit,
      });
    }
  }

  /** Fails if the oldest request no disturbance excused is past its deadline. */
  private checkRequests(): void {
    const r = this.requests.oldest();
    if (r === undefined) return;
    const deadline = Math.max(r.issuedAt, this.cfg.faultPhaseMs) + REQUEST_BOUND_MS;
    if (this.queue.now <= deadline) return;
    const sts = this.up().map((m) => JSON.stringify(m.driver!.rawNode.basicStatus()));
    const pending = this.requests
      .all()
      .slice(0, 10)
      .map((q) => `${q.kind} ${q.key} on member ${q.member} at t=${q.issuedAt}ms`);
    throw new InvariantViolation(
      `liveness: ${r.kind} ${r.key} issued on member ${r.member} at t=${r.issuedAt}ms neither completed nor was rejected ` +
        `within ${REQUEST_BOUND_TICKS} ticks (${REQUEST_BOUND_TICKS / ELECTION_TICK} election timeouts) after healing, ` +
        `and nothing that could lose it happened since it was issued (no drop, crash, restart, leader change or transfer)\n` +
        `  outstanding (${this.requests.size}): ${pending.join('; ')}\n  ${sts.join('\n  ')}`,
    );
  }

  private fullCheck(): void {
    const logs = new Map<NodeId, readonly Entry[]>();
    for (const m of this.up()) logs.set(m.id, m.driver!.rawNode.logEntries());
    InvariantChecker.checkLogsMatch(logs);
  }

  /**
   * At healing, the operator stops members that are no longer in the cluster's latest
   * configuration but never learned it (partitioned or down when removed), as the server
   * refuses a removed member's data dir. Until then they are part of the faults.
   */
  private retireFormerMembers(): void {
    const conf = this.latestConf?.confState;
    if (conf === undefined) return;
    const current = new Set([...conf.voters, ...(conf.learners ?? [])]);
    for (const m of this.members.values()) {
      if (current.has(m.id) || m.removed) continue;
      m.driver?.stop();
      this.snapshotsInstalled += m.sm?.restores ?? 0;
      m.driver = undefined;
      m.sm = undefined;
      m.removed = true;
      this.requests.disturb();
      this.log(`retire former member ${m.id}`);
    }
  }

  /** The members of the latest configuration (all members while it never changed). */
  private currentMembers(): Member[] {
    const conf = this.latestConf?.confState;
    const inConf = (id: NodeId): boolean => conf === undefined || conf.voters.includes(id) || (conf.learners ?? []).includes(id);
    return [...this.members.values()].filter((m) => !m.removed && inConf(m.id));
  }

  run(): SimResult {
    try {
      return this.runInner();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const cfg = JSON.stringify(this.cfg);
      throw new SimulationFailure(
        `seed ${this.seed} failed at virtual t=${this.queue.now}ms, step ${this.steps}: ${e.name}: ${e.message}\n` +
          `config: ${cfg}\nlast events:\n  ${this.trace.join('\n  ')}\n` +
          `replay: SIM_SEED=${this.seed} npx ava test/sim/sim.test.ts   (add SIM_TRACE=1 for a full trace)\n` +
          (e.stack ?? ''),
      );
    }
  }

  private runInner(): SimResult {
    this.log(`config ${JSON.stringify(this.cfg)}`);
    for (const id of this.ids) this.start(id);
    this.network.faults = this.randomNetworkFaults();
    this.scheduleClient();
    this.scheduleChaos();
    if (this.cfg.membership) this.scheduleMembership();

    const healAt = this.cfg.faultPhaseMs;
    let livenessValue = '';
    let healedAt = -1;
    let livenessMs = -1;
    this.queue.schedule(healAt, () => {
      this.healed = true;
      healedAt = this.queue.now;
      this.network.heal();
      this.network.faults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 10, slow: 0, slowDelay: 0 };
      this.diskFaults = { minLatency: 1, maxLatency: 5, fsyncFailure: 0 };
      this.retireFormerMembers();
      for (const m of this.down()) this.start(m.id);
      livenessValue = `liveness-${this.seed}`;
      this.log('healed everything; liveness phase');
      const retry = (): void => {
        if (livenessMs >= 0) return;
        this.propose(livenessValue, false);
        this.queue.schedule(100, retry);
      };
      retry();
    });

    for (;;) {
      const ev = this.queue.pop();
      if (ev === undefined) throw new Error('event queue ran dry');
      this.steps++;
      ev.run();
      if (this.failure !== undefined) throw this.failure;
      if (this.network.dropped !== this.droppedSeen) {
        this.droppedSeen = this.network.dropped;
        this.requests.disturb();
      }
      this.checkStep();
      this.checkRequests();
      if (this.steps % FULL_CHECK_EVERY === 0) this.fullCheck();
      if (healedAt >= 0 && livenessMs >= 0 && this.requests.size === 0) break;
      if (healedAt >= 0 && livenessMs < 0) {
        if (this.currentMembers().every((m) => m.sm?.values.has(livenessValue) === true)) {
          livenessMs = this.queue.now - healedAt;
          this.log(`liveness value applied everywhere after ${livenessMs}ms; clients stop`);
          this.clientsStopped = true;
          continue;
        }
        if (this.queue.now - healedAt > LIVENESS_BOUND_MS) {
          const sts = this.up().map((m) => JSON.stringify(m.driver!.rawNode.basicStatus()));
          throw new InvariantViolation(`liveness: no commit everywhere within ${LIVENESS_BOUND_MS}ms after healing\n  ${sts.join('\n  ')}`);
        }
      }
    }
    this.fullCheck();
    for (const m of this.members.values()) this.snapshotsInstalled += m.sm?.restores ?? 0;
    const result = {
      seed: this.seed,
      members: this.cfg.size,
      steps: this.steps,
      virtualMs: this.queue.now,
      committed: this.checker.maxCommitted,
      crashes: this.crashes,
      fsyncFailures: this.fsyncFailures,
      partitions: this.partitions,
      reads: this.reads,
      snapshotsInstalled: this.snapshotsInstalled,
      leaderElections: this.leaderElections,
      membership: { ...this.membershipCounts },
      requests: {
        issued: this.requests.issued,
        completed: this.requests.completed,
        rejected: this.requests.rejected,
        excused: this.requests.excused,
      },
      maxRequestMs: this.requests.maxLatency,
      livenessMs,
      fingerprint: [...this.members.values()].map((m) => `${m.sm?.applied ?? -1}:${m.sm?.hash ?? -1}`).join(' '),
    };
    for (const m of this.members.values()) m.driver?.stop();
    return result;
  }
}

export function runSeed(seed: number, options: SimOptions = {}): SimResult {
  return new Simulation(seed, options).run();
}
