import test from 'ava';
import { InvariantError } from '../../server/raft/errors.js';
import { Inflights } from '../../server/raft/inflights.js';
import { MemoryRaftStorage } from '../../server/raft/memory-storage.js';
import { Progress } from '../../server/raft/progress.js';
import { majorityCommitted, majorityVoteResult } from '../../server/raft/quorum.js';
import { RaftLog } from '../../server/raft/raft-log.js';
import type { Entry } from '../../server/raft/types.js';

const ent = (index: number, term: number, d = ''): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(d) });

function logWith(terms: number[]): RaftLog {
  const s = new MemoryRaftStorage([1]);
  s.append(terms.map((t, i) => ent(i + 1, t)));
  return new RaftLog(s, Infinity);
}

test('raft log: maybeAppend truncates a conflicting uncommitted suffix and clamps commit', (t) => {
  const log = logWith([1, 1, 2, 2]);
  t.is(log.maybeAppend(2, 1, 10, [ent(3, 3), ent(4, 3), ent(5, 3)]), 5);
  t.deepEqual(
    log.allEntries().map((e) => e.term),
    [1, 1, 3, 3, 3],
  );
  t.is(log.committed, 5, 'commit = min(leader commit, last new index)');
  t.is(log.maybeAppend(5, 2, 10, []), undefined, 'mismatching (index, term) is refused');
  t.is(log.unstableEntries()[0]!.index, 3, 'the replaced suffix is unstable until persisted');
});

test('raft log: overwriting a committed entry is an invariant violation', (t) => {
  const log = logWith([1, 1, 2]);
  log.commitTo(3);
  const err = t.throws(() => log.maybeAppend(1, 1, 3, [ent(2, 5)]));
  t.true(err instanceof InvariantError);
  t.is(err?.name, 'InvariantError');
  t.throws(() => log.commitTo(9), { instanceOf: InvariantError });
});

test('raft log: findConflictByTerm skips a whole term', (t) => {
  const log = logWith([1, 1, 1, 4, 4, 4, 4, 5, 5]);
  t.deepEqual(log.findConflictByTerm(9, 3), { index: 3, term: 1 });
  t.deepEqual(log.findConflictByTerm(9, 4), { index: 7, term: 4 });
  t.deepEqual(log.findConflictByTerm(9, 6), { index: 9, term: 5 });
  t.deepEqual(log.findConflictByTerm(2, 0), { index: 0, term: 0 });
});

test('raft log: commits by counting only entries of the current term', (t) => {
  const log = logWith([1, 1, 2]);
  t.false(log.maybeCommit(2, 2), 'index 2 is from term 1');
  t.is(log.committed, 0);
  t.true(log.maybeCommit(3, 2));
  t.is(log.committed, 3);
});

test('raft log: stableTo ignores acknowledgements for entries replaced meanwhile', (t) => {
  const log = logWith([1]);
  log.append([ent(2, 1), ent(3, 1)]);
  log.append([ent(3, 2)]); // replaced before the first write completed
  t.false(log.stableTo(3, 1));
  t.is(log.unstableEntries().length, 2);
  t.true(log.stableTo(3, 2));
  t.is(log.unstableEntries().length, 0);
});

test('raft log: compacted storage reports compacted terms and serves a snapshot', (t) => {
  const s = new MemoryRaftStorage([1, 2]);
  s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
  s.createSnapshot(3, { voters: [1, 2] }, new Uint8Array([9]));
  s.compact(3);
  const log = new RaftLog(s, Infinity);
  t.is(log.firstIndex(), 4);
  t.is(log.term(3), 2, 'the compaction point keeps its term');
  t.is(log.term(2), 'compacted');
  t.is(log.entriesFrom(2, Infinity), 'compacted');
  t.is(log.snapshot().index, 3);
  t.is(log.term(5), 'unavailable');
});

test('progress: probe sends one message at a time; rejections are ignored unless for the last probe', (t) => {
  const pr = new Progress(0, 10, 4, 0);
  t.false(pr.isPaused());
  pr.probeSent = true;
  t.true(pr.isPaused());
  t.false(pr.maybeDecrTo(5, 2), 'stale rejection (not our probe at 9)');
  t.true(pr.maybeDecrTo(9, 4));
  t.is(pr.next, 5, 'jump to the hint + 1');
  t.false(pr.isPaused());
  pr.maybeUpdate(6);
  pr.becomeReplicate();
  t.is(pr.next, 7);
  t.false(pr.maybeDecrTo(6, 0), 'rejection at or below match is stale in replicate');
});

test('inflights: bounded by count and bytes, freed by acknowledgement', (t) => {
  const inf = new Inflights(3, 100);
  inf.add(1, 10);
  inf.add(2, 10);
  t.false(inf.full());
  inf.add(3, 10);
  t.true(inf.full(), 'count limit');
  inf.freeLE(2);
  t.is(inf.count(), 1);
  inf.add(4, 95);
  t.true(inf.full(), 'byte limit');
  inf.freeFirstOne();
  t.is(inf.count(), 1);
  t.throws(() => inf.add(2, 1), { instanceOf: InvariantError });
});

test('quorum: majority commit index and vote results', (t) => {
  const voters = new Set([1, 2, 3, 4, 5]);
  const match = new Map([
    [1, 9],
    [2, 7],
    [3, 7],
    [4, 3],
    [5, 0],
  ]);
  t.is(
    majorityCommitted(voters, (id) => match.get(id) ?? 0),
    7,
  );
  t.is(
    majorityVoteResult(
      voters,
      new Map([
        [1, true],
        [2, true],
      ]),
    ),
    'pending',
  );
  t.is(
    majorityVoteResult(
      voters,
      new Map([
        [1, true],
        [2, true],
        [3, true],
      ]),
    ),
    'won',
  );
  t.is(
    majorityVoteResult(
      voters,
      new Map([
        [1, true],
        [2, false],
        [3, false],
        [4, false],
      ]),
    ),
    'lost',
  );
});
