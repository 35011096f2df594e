import type { PersistBatch, RaftLogPersistence } from '../../server/node/ports/raft-log-persistence.js';
import { MemoryRaftStorage } from '../../server/raft/memory-storage.js';
import type { ConfState, NodeId } from '../../server/raft/types.js';
import type { EventQueue } from './event-queue.js';
import type { InvariantChecker } from './invariants.js';
import type { Prng } from './prng.js';

export interface DiskFaults {
  /** Sync latency range in virtual ms. */
  minLatency: number;
  maxLatency: number;
  /** Probability that a sync fails (the node must stop). */
  fsyncFailure: number;
}

/**
 * A member's simulated disk. `durable` is exactly what survives a crash; writes become part
 * of it only when their sync completes (an event on the queue). Since the core may read
 * only durable state from storage, the durable image doubles as the core's RaftStorage.
 */
export class SimDisk {
  /** What the core reads; in honest mode also exactly what survives a crash. */
  durable: MemoryRaftStorage;
  /** Lying mode only: what really survives a crash (writes land here after their latency). */
  private shadow: MemoryRaftStorage | undefined;
  private shadowTime = 0;
  /** Bumped on crash: sync completions of an older incarnation are lost. */
  incarnation = 0;
  writes = 0;

  /**
   * @param lying a broken disk that acknowledges writes before they are durable (a crash
   *   loses acknowledged writes). Used only to prove the invariants catch such a bug.
   */
  /** @param learners a member added to a running cluster starts with its configuration's learners (itself included). */
  constructor(
    private readonly voters: readonly NodeId[],
    readonly lying = false,
    private readonly learners: readonly NodeId[] = [],
  ) {
    this.durable = new MemoryRaftStorage(voters, learners);
    if (lying) this.shadow = new MemoryRaftStorage(voters, learners);
  }

  /** Lying mode: performs `write` on the real medium later, in FIFO order. */
  writeBehind(queue: EventQueue, latency: number, write: (s: MemoryRaftStorage) => void): void {
    const inc = this.incarnation;
    this.shadowTime = Math.max(this.shadowTime, queue.now + latency);
    queue.schedule(this.shadowTime - queue.now, () => {
      if (this.incarnation === inc && this.shadow !== undefined) write(this.shadow);
    });
  }

  crash(): void {
    this.incarnation++;
    if (this.shadow !== undefined) {
      this.durable = this.shadow;
      this.shadow = cloneStorage(this.shadow, this.voters, this.learners);
    }
  }
}

function cloneStorage(s: MemoryRaftStorage, voters: readonly NodeId[], learners: readonly NodeId[]): MemoryRaftStorage {
  const c = new MemoryRaftStorage(voters, learners);
  const snap = s.snapshot();
  if (snap.index > 0) c.applySnapshot(snap);
  const from = Math.max(s.firstIndex(), snap.index + 1);
  if (from <= s.lastIndex()) c.append(s.entries(from, s.lastIndex() + 1, Infinity));
  c.setHardState(s.initialState().hardState);
  return c;
}

/** RaftLogPersistence over a SimDisk, completing through the event queue (no real timers). */
export class SimPersistence implements RaftLogPersistence {
  private readonly incarnation: number;

  constructor(
    private readonly id: NodeId,
    private readonly disk: SimDisk,
    private readonly queue: EventQueue,
    private readonly rng: Prng,
    private readonly faults: () => DiskFaults,
    private readonly checker: InvariantChecker,
  ) {
    this.incarnation = disk.incarnation;
  }

  private sync(write: (s: MemoryRaftStorage) => void): PromiseLike<void> {
    const f = this.faults();
    const latency = this.rng.between(f.minLatency, f.maxLatency);
    const fails = this.rng.chance(f.fsyncFailure);
    const done = new SyncCompletion();
    if (this.disk.lying) {
      // Broken disk: visible and acknowledged at once, durable only later.
      write(this.disk.durable);
      this.disk.writeBehind(this.queue, latency, write);
      done.succeed();
      return done;
    }
    this.queue.schedule(latency, () => {
      // Crashed before the sync completed: the write is lost and never completes.
      if (this.disk.incarnation !== this.incarnation) return;
      if (fails) {
        done.fail(new Error(`simulated fsync failure on member ${this.id}`));
        return;
      }
      write(this.disk.durable);
      this.disk.writes++;
      done.succeed();
    });
    return done;
  }

  save(batch: PersistBatch): PromiseLike<void> {
    return this.sync((s) => {
      if (batch.snapshot !== undefined) s.applySnapshot(batch.snapshot);
      const first = batch.entries[0];
      if (first !== undefined) {
        const kept = batch.entries.filter((e) => e.index >= s.firstIndex());
        const k0 = kept[0];
        if (k0 !== undefined) {
          s.append(kept);
          if (s === this.disk.durable) this.checker.onPersist(this.id, kept, s.term(k0.index - 1));
        }
      }
      if (batch.hardState !== undefined) s.setHardState(batch.hardState);
    });
  }

  compact(snapshot: { index: number; confState: ConfState; data: Uint8Array }, compactIndex: number): PromiseLike<void> {
    return this.sync((s) => {
      if (snapshot.index > s.snapshot().index) s.createSnapshot(snapshot.index, snapshot.confState, snapshot.data);
      s.compact(compactIndex);
    });
  }
}

/**
 * A one-shot completion whose callbacks run synchronously inside the disk event that settles
 * it, so the driver's continuation is part of that event (no microtasks, no real event loop).
 * Only the single-level `then(ok, bad)` the driver uses is supported, not chaining.
 */
export class SyncCompletion implements PromiseLike<void> {
  private state: 'pending' | 'ok' | 'failed' = 'pending';
  private error: unknown = undefined;
  private readonly waiters: { ok: ((v: void) => unknown) | undefined; bad: ((e: unknown) => unknown) | undefined }[] = [];

  then<R1 = void, R2 = never>(
    onfulfilled?: ((value: void) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    const w = { ok: onfulfilled ?? undefined, bad: onrejected ?? undefined };
    if (this.state === 'pending') this.waiters.push(w);
    else this.fire(w);
    return new SyncCompletion() as unknown as PromiseLike<R1 | R2>;
  }

  succeed(): void {
    this.settle('ok');
  }

  fail(err: unknown): void {
    this.error = err;
    this.settle('failed');
  }

  private settle(state: 'ok' | 'failed'): void {
    if (this.state !== 'pending') return;
    this.state = state;
    for (const w of this.waiters.splice(0)) this.fire(w);
  }

  private fire(w: { ok: ((v: void) => unknown) | undefined; bad: ((e: unknown) => unknown) | undefined }): void {
    if (this.state === 'ok') w.ok?.(undefined);
    else if (w.bad !== undefined) w.bad(this.error);
    else throw this.error;
  }
}
