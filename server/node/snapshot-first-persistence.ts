import type { Snapshot } from '../raft/types.js';
import type { PersistBatch, RaftLogPersistence } from './ports/raft-log-persistence.js';

/**
 * Raft log persistence that puts a snapshot's data into the store BEFORE the log is cut
 * back to the snapshot. The other way round, a crash in between would leave a log that
 * starts past what the store holds, while the data needed to fill the gap existed only in
 * memory: the member could never start again. A store ahead of its log is safe: it holds
 * committed state, and replayed entries it already has are skipped (so the driver's later
 * restore of the same snapshot finds nothing left to do).
 */
export function snapshotFirstPersistence(log: RaftLogPersistence, installData: (snapshot: Snapshot) => Promise<void>): RaftLogPersistence {
  return {
    save: async (batch: PersistBatch) => {
      if (batch.snapshot !== undefined) await installData(batch.snapshot);
      await log.save(batch);
    },
    compact: (snapshot, compactIndex) => log.compact(snapshot, compactIndex),
  };
}
