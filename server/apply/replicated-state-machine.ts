import type { MvccStore } from '../mvcc/kv-store.js';
import type { StateMachine } from '../node/ports/state-machine.js';
import type { Entry, Snapshot } from '../raft/types.js';
import { EntryType } from '../raft/types.js';
import type { Applier } from './applier.js';
import type { CommandOutcome } from './outcome.js';
import { ProposalCodec } from './proposal-codec.js';

/** Installs a snapshot's data received from the leader; see snapshot-inbox.ts. */
export interface SnapshotInstaller {
  install(snapshot: Snapshot): Promise<void>;
}

/**
 * The MVCC store as Raft's state machine. Committed entries are applied in log order, in
 * one store batch per Ready. The batch records the index of its last entry, in the same
 * atomic write as the changes, so entries at or below the stored index are skipped when the
 * log is replayed after a restart: nothing is applied twice. The batch is not synced: the
 * Raft log already holds these entries durably, and replay rebuilds what a crash lost.
 */
export class ReplicatedStateMachine implements StateMachine {
  constructor(
    private readonly store: MvccStore,
    private readonly applier: Applier,
    private readonly memberId: number,
    private readonly onOutcome: (proposalId: number, outcome: CommandOutcome) => void,
    private readonly snapshots: SnapshotInstaller,
    /** The codec this member's proposals were encoded with (RaftNode's). */
    private readonly proposals: Pick<ProposalCodec, 'decode'> = new ProposalCodec(),
  ) {}

  async apply(entries: readonly Entry[]): Promise<void> {
    const last = entries[entries.length - 1];
    if (last === undefined || last.index <= this.store.consistentIndex) return;
    const batch = this.store.beginBatch();
    const mine: { id: number; outcome: CommandOutcome }[] = [];
    try {
      for (const entry of entries) {
        if (entry.index <= this.store.consistentIndex) continue;
        // A new leader's no-op entry (and, later, membership changes) carry no command.
        if (entry.type !== EntryType.Normal || entry.data.byteLength === 0) continue;
        const proposal = this.proposals.decode(entry.data, entry.index);
        const outcome = await this.applier.apply(batch, proposal.command, proposal.limits);
        if (proposal.memberId === this.memberId) mine.push({ id: proposal.id, outcome });
      }
    } catch (err) {
      this.store.discardBatch(batch);
      throw err;
    }
    await this.store.commit(batch, last.index, { sync: false });
    for (const { id, outcome } of mine) this.onOutcome(id, outcome);
  }

  restore(snapshot: Snapshot): Promise<void> {
    return this.snapshots.install(snapshot);
  }

  /** The state machine's data is the MVCC keyspace itself, streamed when a follower needs it. */
  snapshot(): Uint8Array {
    return new Uint8Array(0);
  }
}
