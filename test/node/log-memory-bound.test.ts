/**
 * The driver's byte bound on the in-memory Raft log (RaftDriverOptions.logMemoryBound,
 * --max-raft-log-memory-bytes): when it compacts, what it keeps, and that it never discards an
 * entry that is not applied. The real core and driver over the core's MemoryRaftStorage,
 * with writes that complete at once.
 */
import test from 'ava';
import type { PersistBatch, RaftLogPersistence } from '../../server/node/ports/raft-log-persistence.js';
import type { LogCompactionCause } from '../../server/node/ports/raft-observer.js';
import { RaftDriver } from '../../server/node/raft-driver.js';
import { MemoryRaftStorage } from '../../server/raft/memory-storage.js';
import { MessageType, type Message } from '../../server/raft/message.js';
import { RawNode } from '../../server/raft/raw-node.js';
import { entrySize, EntryType, type ConfState, type Entry } from '../../server/raft/types.js';
import { Prng } from '../sim/prng.js';
import { SyncCompletion } from '../sim/sim-disk.js';

/** A disk whose writes are durable as soon as they are made (the core reads `storage`). */
class InstantDisk implements RaftLogPersistence {
  constructor(readonly storage: MemoryRaftStorage) {}

  save(batch: PersistBatch): PromiseLike<void> {
    if (batch.snapshot !== undefined) this.storage.applySnapshot(batch.snapshot);
    this.storage.append(batch.entries);
    if (batch.hardState !== undefined) this.storage.setHardState(batch.hardState);
    return done();
  }

  compact(snapshot: { index: number; confState: ConfState; data: Uint8Array }, compactIndex: number): PromiseLike<void> {
    if (snapshot.index > this.storage.snapshot().index) this.storage.createSnapshot(snapshot.index, snapshot.confState, snapshot.data);
    this.storage.compact(compactIndex);
    return done();
  }
}

function done(): SyncCompletion {
  const c = new SyncCompletion();
  c.succeed();
  return c;
}

interface Member {
  driver: RaftDriver;
  storage: MemoryRaftStorage;
  compactions: LogCompactionCause[];
  applied: Entry[];
  sent: Message[];
}

function member(o: { voters: number[]; maxBytes: number; snapshotEvery: number; compactKeep: number }): Member {
  const storage = new MemoryRaftStorage(o.voters);
  const node = new RawNode({ id: 1, storage, random: new Prng(1), electionTick: 10, heartbeatTick: 1 });
  const m: Member = { storage, compactions: [], applied: [], sent: [], driver: undefined as unknown as RaftDriver };
  m.driver = new RaftDriver({
    node,
    persistence: new InstantDisk(storage),
    sender: { send: (msgs) => m.sent.push(...msgs) },
    stateMachine: {
      apply: (entries) => {
        m.applied.push(...entries);
      },
      restore: () => undefined,
      snapshot: () => new Uint8Array(0),
    },
    ticker: { start: () => undefined, stop: () => undefined },
    snapshotEvery: o.snapshotEvery,
    compactKeep: o.compactKeep,
    logMemoryBound: { maxBytes: o.maxBytes, log: storage },
    observer: { leaderChanged: () => undefined, logCompacted: (cause) => m.compactions.push(cause) },
    onFatal: (err) => {
      throw err;
    },
  });
  m.driver.start();
  return m;
}

const value = (bytes: number, i: number): Uint8Array => new Uint8Array(bytes).fill(i % 251);
const ENTRY = entrySize({ index: 0, term: 0, type: EntryType.Normal, data: value(1000, 0) });

test('past the bound the log is compacted by bytes, keeps at most half the bound, and never holds more than the bound plus one entry', (t) => {
  const maxBytes = 10_000;
  const m = member({ voters: [1], maxBytes, snapshotEvery: 10_000, compactKeep: 5_000 });
  m.driver.campaign();
  t.is(m.driver.status().role, 'leader');
  let highest = 0;
  for (let i = 0; i < 60; i++) {
    t.true(m.driver.propose(value(1000, i)).accepted);
    highest = Math.max(highest, m.storage.heldBytes());
    t.true(m.storage.heldBytes() <= maxBytes, `held ${m.storage.heldBytes()} after write ${i}: compacted at the end of its Ready`);
  }
  t.true(m.storage.peakHeldBytes() <= maxBytes + ENTRY, `peak ${m.storage.peakHeldBytes()} within the bound plus one entry`);
  t.true(m.storage.peakHeldBytes() > maxBytes, 'the bound was reached (else this test proves nothing)');
  t.is(m.applied.length, 61, 'the no-op and every write applied');
  t.true(m.compactions.length >= 8, `compacted ${m.compactions.length} times`);
  t.true(
    m.compactions.every((c) => c === 'bytes'),
    'by bytes, not by count',
  );
  // Just after a compaction the log holds at most half the bound (the entries kept for followers).
  const last = m.driver.status().lastIndex;
  const first = m.storage.firstIndex();
  t.true(first > 1, 'the log start moved');
  t.true((last - first + 1) * ENTRY <= maxBytes, 'what is held is the newest entries only');
  t.true(m.storage.snapshot().index >= first - 1, 'the log starts at or below the snapshot point');
  t.true(highest <= maxBytes);
});

test('a compaction by count keeps at most half the byte bound for followers, not snapshotCatchUpEntries of any size', (t) => {
  const maxBytes = 10_000;
  const m = member({ voters: [1], maxBytes, snapshotEvery: 4, compactKeep: 100 });
  m.driver.campaign();
  // The no-op and three writes: the fourth applied entry compacts by count.
  for (let i = 0; i < 3; i++) t.true(m.driver.propose(value(3000, i)).accepted);
  t.deepEqual(m.compactions, ['entries']);
  const kept = m.storage.heldBytes();
  t.true(kept <= maxBytes / 2, `kept ${kept} bytes`);
  t.true(kept > 0, 'but keeps what fits');
});

test('entries that are not committed and applied are never discarded, however far past the bound', (t) => {
  const maxBytes = 10_000;
  // Three voters: without the followers' acknowledgements nothing beyond the no-op commits.
  const m = member({ voters: [1, 2, 3], maxBytes, snapshotEvery: 10_000, compactKeep: 0 });
  m.driver.campaign();
  const answer = (type: Message['type'], from: number, extra: Partial<Message> = {}): void =>
    m.driver.step({ type, from, to: 1, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...extra });
  answer(MessageType.PreVoteResp, 2);
  answer(MessageType.VoteResp, 2);
  t.is(m.driver.status().role, 'leader');
  for (let i = 0; i < 30; i++) t.true(m.driver.propose(value(1000, i)).accepted);
  t.is(m.driver.status().commit, 0, 'nothing committed yet');
  t.true(m.storage.heldBytes() > 2 * maxBytes, `held ${m.storage.heldBytes()}: unapplied entries are not the bound's to drop`);
  t.is(m.storage.firstIndex(), 1, 'the log still starts at 1');
  t.deepEqual(m.compactions, []);
  // A follower acknowledges everything: it all commits and applies, and then the log is cut.
  const last = m.driver.status().lastIndex;
  answer(MessageType.AppResp, 2, { index: last });
  t.is(m.applied.length, last);
  t.deepEqual(m.compactions, ['bytes']);
  t.true(m.storage.heldBytes() <= maxBytes / 2, `held ${m.storage.heldBytes()} after the compaction`);
});
