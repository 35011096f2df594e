import { MemoryRaftStorage } from '../raft/memory-storage.js';
import type { Entry, HardState, NodeId } from '../raft/types.js';
import { EMPTY_HARD_STATE, isEmptyHardState } from '../raft/types.js';
import type { StorageEngine } from './engine.js';
import { decodeEntry, decodeHardState, decodeLogStart, decodeSnapshotMeta, type LogPosition, type SnapshotMeta } from './raft-log-codec.js';
import { HARD_STATE_KEY, LOG_START_KEY, parseEntryKey, RAFT_LOG_SPAN, SNAPSHOT_META_KEY } from './reserved-keys.js';
import { StorageErrorCode, StorageIntegrityError } from './storage-error.js';

/** The durable Raft state as read back from the engine, already validated. */
export interface LoadedRaftLog {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta | undefined;
  /** The last discarded entry (index 0 if none): entries start right after it. */
  readonly start: LogPosition;
  readonly entries: readonly Entry[];
}

const EMPTY_DATA = new Uint8Array(0);

/**
 * Reads and validates the whole log. Anything that does not add up is refused with an error
 * naming what is wrong: starting on a damaged log could un-acknowledge committed entries or
 * let this node vote with a log it does not really have.
 */
export async function loadRaftLog(engine: StorageEngine): Promise<LoadedRaftLog> {
  const [hsRecord, snapRecord, startRecord] = await engine.getMany([HARD_STATE_KEY, SNAPSHOT_META_KEY, LOG_START_KEY]);
  const hardState = hsRecord === undefined ? EMPTY_HARD_STATE : decodeHardState(hsRecord);
  const snapshot = snapRecord === undefined ? undefined : decodeSnapshotMeta(snapRecord);
  const start = startRecord === undefined ? { index: 0, term: 0 } : decodeLogStart(startRecord);
  if ((snapshot === undefined) !== (startRecord === undefined)) {
    throw inconsistent(`snapshot metadata and log start must be stored together (snapshot ${snapshot ? 'present' : 'missing'})`);
  }
  if (snapshot !== undefined) {
    if (snapshot.index === 0) throw inconsistent('snapshot metadata with index 0');
    if (start.index > snapshot.index) throw inconsistent(`log start ${start.index} is beyond snapshot index ${snapshot.index}`);
    if (start.index === snapshot.index && start.term !== snapshot.term) {
      throw inconsistent(`log start term ${start.term} differs from snapshot term ${snapshot.term} at index ${start.index}`);
    }
  }

  const entries: Entry[] = [];
  let prev: LogPosition = start;
  for await (const [key, value] of engine.scan(RAFT_LOG_SPAN)) {
    const index = parseEntryKey(key);
    if (index === undefined)
      throw new StorageIntegrityError(StorageErrorCode.CorruptRecord, `malformed raft log key ${key.toString('hex')}`);
    // Left by a compaction cut short after its metadata write; covered by the snapshot.
    if (index <= start.index) continue;
    if (index !== prev.index + 1) throw inconsistent(`gap in raft log: expected entry ${prev.index + 1}, found ${index}`);
    const entry = decodeEntry(value, index);
    if (entry.term < prev.term)
      throw inconsistent(`raft log entry ${index} has term ${entry.term} below term ${prev.term} of entry ${prev.index}`);
    entries.push(entry);
    prev = entry;
  }
  const last = prev;

  if (snapshot !== undefined && snapshot.index > start.index) {
    const at = entries[snapshot.index - start.index - 1];
    if (at === undefined) throw inconsistent(`snapshot index ${snapshot.index} is beyond the last entry ${last.index}`);
    if (at.term !== snapshot.term)
      throw inconsistent(`snapshot term ${snapshot.term} differs from term ${at.term} of entry ${snapshot.index}`);
  }
  if (!isEmptyHardState(hardState)) {
    // The same bounds the core asserts at start, checked here to name the damage precisely.
    if (hardState.commit < start.index || hardState.commit > last.index) {
      throw inconsistent(`hard state commit ${hardState.commit} outside the log [${start.index}, ${last.index}]`);
    }
    if (hardState.term < last.term) throw inconsistent(`hard state term ${hardState.term} below last entry term ${last.term}`);
  }
  return { hardState, snapshot, start, entries };
}

/** Rebuilds exactly the MemoryRaftStorage that the writes being replayed had produced. */
export function buildMirror(log: LoadedRaftLog, voters: readonly NodeId[], learners: readonly NodeId[] = []): MemoryRaftStorage {
  const snap = log.snapshot;
  const mirror = new MemoryRaftStorage(snap?.confState.voters ?? voters, snap?.confState.learners ?? learners);
  // The log start first (a snapshot as far as the mirror is concerned), then the entries,
  // some of which may sit below the real snapshot point (kept for lagging followers).
  if (snap !== undefined && log.start.index > 0) {
    mirror.applySnapshot({ index: log.start.index, term: log.start.term, confState: snap.confState, data: EMPTY_DATA });
  }
  mirror.append(log.entries);
  if (snap !== undefined && snap.index > log.start.index) mirror.createSnapshot(snap.index, snap.confState, EMPTY_DATA);
  mirror.setHardState(log.hardState);
  return mirror;
}

function inconsistent(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.InconsistentLog, message);
}
