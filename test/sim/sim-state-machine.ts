import type { StateMachine } from '../../server/node/ports/state-machine.js';
import type { Entry, NodeId, Snapshot } from '../../server/raft/types.js';
import { EntryType } from '../../server/raft/types.js';
import type { InvariantChecker } from './invariants.js';
import { InvariantViolation } from './invariants.js';

/** FNV-1a over the previous hash, the index, the term and the data. */
function chain(hash: number, e: Entry): number {
  let h = hash ^ 0x811c9dc5;
  const mix = (b: number): void => {
    h ^= b & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (let i = 0; i < 4; i++) mix(e.index >>> (8 * i));
  for (let i = 0; i < 4; i++) mix(e.term >>> (8 * i));
  for (const b of e.data) mix(b);
  return h >>> 0;
}

/**
 * The replicated state machine of the simulation: a hash chain over every applied entry
 * (including no-ops), plus the set of applied client values. Volatile: rebuilt from the
 * durable snapshot and the log on restart.
 */
export class SimStateMachine implements StateMachine {
  applied = 0;
  hash = 0;
  /** Snapshots received from a leader and installed (not counting restarts). */
  restores = 0;
  readonly values = new Set<string>();
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly id: NodeId,
    private readonly checker: InvariantChecker,
    from?: Snapshot,
    /** Called with each client value applied (not for values restored from a snapshot). */
    private readonly onValue?: (value: string) => void,
  ) {
    if (from !== undefined && from.index > 0) this.load(from);
  }

  apply(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.applied + 1) {
        throw new InvariantViolation(`member ${this.id}: applied ${e.index} after ${this.applied} (gap or repeat)`);
      }
      this.hash = chain(this.hash, e);
      this.applied = e.index;
      if (e.type === EntryType.Normal && e.data.byteLength > 0) {
        const value = this.decoder.decode(e.data);
        this.values.add(value);
        this.onValue?.(value);
      }
      this.checker.onApply(this.id, e, this.hash);
    }
  }

  restore(snapshot: Snapshot): void {
    if (snapshot.index <= this.applied) {
      throw new InvariantViolation(`member ${this.id}: snapshot ${snapshot.index} does not move past applied ${this.applied}`);
    }
    this.load(snapshot);
    this.restores++;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ index: this.applied, hash: this.hash, values: [...this.values] }));
  }

  private load(s: Snapshot): void {
    const img = JSON.parse(this.decoder.decode(s.data)) as { index: number; hash: number; values: string[] };
    if (img.index !== s.index) throw new InvariantViolation(`snapshot at ${s.index} holds state of ${img.index}`);
    this.applied = img.index;
    this.hash = img.hash;
    this.values.clear();
    for (const v of img.values) this.values.add(v);
    this.checker.checkHash(this.id, img.index, img.hash);
  }
}
