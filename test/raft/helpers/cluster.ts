import type { Message } from '../../../server/raft/message.js';
import { MemoryRaftStorage } from '../../../server/raft/memory-storage.js';
import type { AppliedConfChange, RaftOptions } from '../../../server/raft/raft.js';
import { RawNode } from '../../../server/raft/raw-node.js';
import type { Ready } from '../../../server/raft/ready.js';
import type { ConfState, Entry, NodeId, ReadState } from '../../../server/raft/types.js';
import { EntryType } from '../../../server/raft/types.js';
import { Prng } from '../../sim/prng.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface TestMember {
  readonly id: NodeId;
  node: RawNode;
  readonly storage: MemoryRaftStorage;
  /** Every committed entry this member applied, in order (data decoded; '' for no-ops). */
  readonly applied: Entry[];
  readonly readStates: ReadState[];
  /** Snapshots installed from the leader. */
  readonly installedSnapshots: number[];
  /** Conf changes this member applied (as reported by advance()). */
  readonly confChanges: AppliedConfChange[];
}

export type ClusterOptions = Partial<Omit<RaftOptions, 'id' | 'storage' | 'random' | 'voters'>> & { seed?: number };

/**
 * A cluster of RawNodes over an in-memory network, processing Ready batches exactly as the
 * driver does (persist, send, apply, advance) but synchronously. Messages wait in `inflight`
 * until delivered; cut links drop them.
 */
export class TestCluster {
  readonly members = new Map<NodeId, TestMember>();
  inflight: Message[] = [];
  /** Every message ever handed to the network (after Ready), for assertions. */
  sent: Message[] = [];
  private readonly cut = new Set<string>();
  /** Optional interceptor applied at delivery: return null to drop, or a (rewritten) message. */
  intercept: ((m: Message) => Message | null) | undefined = undefined;
  /** Members whose next write is held back (see holdWrite), and the Ready each one holds. */
  private readonly holding = new Set<NodeId>();
  private readonly held = new Map<NodeId, Ready>();

  constructor(
    initialIds: readonly NodeId[],
    readonly opts: ClusterOptions = {},
  ) {
    const rnd = new Prng(opts.seed ?? 1);
    for (const id of initialIds) {
      const storage = new MemoryRaftStorage(initialIds);
      this.members.set(id, {
        id,
        node: this.newNode(id, storage, rnd.fork()),
        storage,
        applied: [],
        readStates: [],
        installedSnapshots: [],
        confChanges: [],
      });
    }
  }

  /** Every member ever started here (removed ones included), in id order. */
  get ids(): NodeId[] {
    return [...this.members.keys()].sort((a, b) => a - b);
  }

  /**
   * Starts a new, empty member that was added as a learner, with the configuration that added
   * it (as a server's join would fetch it from the cluster).
   */
  join(id: NodeId, confState: ConfState, seed = 7): TestMember {
    const storage = new MemoryRaftStorage();
    const { voters, learners } = confState;
    const mem: TestMember = {
      id,
      node: new RawNode({
        electionTick: 10,
        heartbeatTick: 1,
        ...withoutSeed(this.opts),
        id,
        storage,
        random: new Prng(seed),
        voters,
        learners: learners ?? [],
      }),
      storage,
      applied: [],
      readStates: [],
      installedSnapshots: [],
      confChanges: [],
    };
    this.members.set(id, mem);
    return mem;
  }

  private newNode(id: NodeId, storage: MemoryRaftStorage, random: Prng): RawNode {
    const { seed: _seed, ...rest } = this.opts;
    return new RawNode({ electionTick: 10, heartbeatTick: 1, ...rest, id, storage, random });
  }

  m(id: NodeId): TestMember {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  node(id: NodeId): RawNode {
    return this.m(id).node;
  }

  /** Handles every pending Ready on every member (no delivery). */
  flush(): void {
    let again = true;
    while (again) {
      again = false;
      for (const mem of this.members.values()) {
        while (mem.node.hasReady()) {
          again = true;
          const rd = mem.node.ready();
          if (this.holding.has(mem.id)) {
            this.holding.delete(mem.id);
            this.held.set(mem.id, rd);
            this.send(rd);
            break; // no further Ready before this one's advance()
          }
          this.write(mem, rd);
          this.send(rd);
          this.finish(mem, rd);
        }
      }
    }
  }

  private write(mem: TestMember, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      mem.storage.applySnapshot(rd.snapshot);
      mem.installedSnapshots.push(rd.snapshot.index);
    }
    mem.storage.append(rd.entries);
    if (rd.hardState !== undefined) mem.storage.setHardState(rd.hardState);
  }

  private send(rd: Ready): void {
    for (const msg of rd.messages) {
      this.sent.push(msg);
      if (!this.isCut(msg.from, msg.to)) this.inflight.push(msg); // cut links drop at send too
    }
  }

  /** Applies and acknowledges a Ready whose write is done. */
  private finish(mem: TestMember, rd: Ready): void {
    mem.applied.push(...rd.committedEntries);
    mem.readStates.push(...rd.readStates);
    mem.confChanges.push(...mem.node.advance(rd));
  }

  /**
   * A slow disk on `id` (a leader): its next Ready is handed out and its messages sent at
   * once, as a leader may send in parallel with its own write (see ready.ts), but the write,
   * apply and advance() wait for persist(id). Meanwhile the member's inputs (messages, reads,
   * proposals) accumulate for the Ready after it.
   */
  holdWrite(id: NodeId): void {
    this.m(id);
    this.holding.add(id);
  }

  /** Completes the write held by holdWrite(id), then processes what accumulated meanwhile. */
  persist(id: NodeId): void {
    const rd = this.held.get(id);
    if (rd === undefined) throw new Error(`member ${id} holds no write`);
    this.held.delete(id);
    const mem = this.m(id);
    this.write(mem, rd);
    this.finish(mem, rd);
    this.flush();
  }

  /** Delivers one round of in-flight messages; returns how many were delivered. */
  deliverOnce(): number {
    this.flush();
    const batch = this.inflight;
    this.inflight = [];
    let n = 0;
    for (const sentMsg of batch) {
      if (this.isCut(sentMsg.from, sentMsg.to)) continue;
      const msg = this.intercept === undefined ? sentMsg : this.intercept(sentMsg);
      if (msg === null) continue;
      const to = this.members.get(msg.to);
      if (to === undefined) continue;
      to.node.step(msg);
      n++;
    }
    this.flush();
    return n;
  }

  /** Delivers until the network is quiet. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.flush();
      if (this.inflight.length === 0) return;
      this.deliverOnce();
    }
    throw new Error('cluster did not stabilize');
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).tick();
    this.flush();
  }

  /** Ticks every member once per round, delivering all messages between rounds. */
  tickAll(rounds: number, ids: readonly NodeId[] = this.ids): void {
    for (let i = 0; i < rounds; i++) {
      for (const id of ids) this.node(id).tick();
      this.stabilize();
    }
  }

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  propose(id: NodeId, data: string): ReturnType<RawNode['propose']> {
    const r = this.node(id).propose(enc(data));
    this.stabilize();
    return r;
  }

  isLinkCut(a: NodeId, b: NodeId): boolean {
    return this.isCut(a, b);
  }

  private isCut(a: NodeId, b: NodeId): boolean {
    return this.cut.has(`${a}-${b}`);
  }

  /** Cuts every link between the two groups, both directions. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut.add(`${x}-${y}`);
        this.cut.add(`${y}-${x}`);
      }
    }
  }

  isolate(id: NodeId): void {
    this.partition(
      [id],
      this.ids.filter((x) => x !== id),
    );
  }

  heal(): void {
    this.cut.clear();
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.node(id).status().role === 'leader');
  }

  /** Data of applied non-empty normal entries (no-ops and conf changes are skipped). */
  appliedData(id: NodeId): string[] {
    return this.m(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map((e) => dec(e.data));
  }

  /**
   * Replaces a member's node with a fresh one built from its storage (a restart). The state
   * machine restarts from the snapshot unless `applied` says it kept more.
   */
  restart(id: NodeId, seed = 99, applied?: number): void {
    const mem = this.m(id);
    const snapIndex = applied ?? mem.storage.snapshot().index;
    mem.applied.length = 0;
    mem.node = new RawNode({
      electionTick: 10,
      heartbeatTick: 1,
      ...withoutSeed(this.opts),
      id,
      storage: mem.storage,
      random: new Prng(seed),
      applied: snapIndex,
    });
  }
}

function withoutSeed(o: ClusterOptions): Omit<ClusterOptions, 'seed'> {
  const { seed: _seed, ...rest } = o;
  return rest;
}
