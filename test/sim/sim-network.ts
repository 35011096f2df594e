import type { Message } from '../../server/raft/message.js';
import { MessageType } from '../../server/raft/message.js';
import type { NodeId } from '../../server/raft/types.js';
import type { EventQueue } from './event-queue.js';
import type { Prng } from './prng.js';

export interface NetworkFaults {
  drop: number;
  duplicate: number;
  minDelay: number;
  maxDelay: number;
  /** Probability of an extra long delay (reordering past later messages). */
  slow: number;
  slowDelay: number;
}

export const NO_NETWORK_FAULTS: NetworkFaults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5, slow: 0, slowDelay: 0 };

/** Where the network hands messages; `undefined` means the member is down. */
export interface Endpoint {
  deliver(m: Message): void;
  reportSnapshot(to: NodeId, failed: boolean): void;
}

/** Lossy, reordering, duplicating network with partitions; every delivery is a queue event. */
export class SimNetwork {
  faults: NetworkFaults = NO_NETWORK_FAULTS;
  private readonly cut = new Set<string>();
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: Prng,
    private readonly endpoint: (id: NodeId) => Endpoint | undefined,
  ) {}

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.cut.clear();
    for (let a = 0; a < groups.length; a++) {
      for (let b = 0; b < groups.length; b++) {
        if (a === b) continue;
        for (const x of groups[a]!) for (const y of groups[b]!) this.cut.add(`${x}>${y}`);
      }
    }
  }

  /** One-way cut: `from` can no longer reach `to`. */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  isPartitioned(): boolean {
    return this.cut.size > 0;
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      this.transmit(m);
      if (this.rng.chance(this.faults.duplicate)) this.transmit(m);
    }
  }

  private transmit(m: Message): void {
    const f = this.faults;
    if (this.cut.has(`${m.from}>${m.to}`) || this.rng.chance(f.drop)) {
      this.lost(m);
      return;
    }
    let delay = this.rng.between(f.minDelay, f.maxDelay);
    if (this.rng.chance(f.slow)) delay += this.rng.between(0, f.slowDelay);
    this.queue.schedule(delay, () => {
      const to = this.endpoint(m.to);
      // Partitions also apply to messages already on the wire when the cut happened.
      if (to === undefined || this.cut.has(`${m.from}>${m.to}`)) {
        this.lost(m);
        return;
      }
      this.delivered++;
      to.deliver(m);
      if (m.type === MessageType.Snap) this.report(m, false);
    });
  }

  private lost(m: Message): void {
    this.dropped++;
    // A real transport knows when a snapshot stream failed; tell the sender.
    if (m.type === MessageType.Snap) this.report(m, true);
  }

  private report(m: Message, failed: boolean): void {
    this.queue.schedule(this.rng.between(this.faults.minDelay, this.faults.maxDelay), () => {
      this.endpoint(m.from)?.reportSnapshot(m.to, failed);
    });
  }
}
