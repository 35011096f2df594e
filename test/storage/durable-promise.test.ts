// The durable-promise record: what counts as a log behind it (refused) and what does not (a
// log legitimately replaced by a newer leader, a compacted log), how the keeper records each
// synced save without claiming more than the engine holds, and a damaged record refused.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MIN_WAIT_MS, waitUntil } from '../helpers/wait.js';
import { MemoryRaftStorage } from '../../server/raft/memory-storage.js';
import { EntryType } from '../../server/raft/types.js';
import {
  DURABLE_PROMISE_FILE,
  readDurablePromise,
  writeDurablePromise,
  type DurablePromise,
} from '../../server/storage/durable-promise.js';
import { checkAgainstPromise } from '../../server/storage/promise-check.js';
import { PromiseKeeper, type PromisedState } from '../../server/storage/promise-keeper.js';
import { StorageErrorCode, StorageIntegrityError } from '../../server/storage/storage-error.js';

const ID = { clusterId: 7, memberId: 1 };

/** A log of entries with the given terms (index 1..n) and a hard state. */
function log(terms: number[], hs: { term: number; vote: number; commit: number }): MemoryRaftStorage {
  const s = new MemoryRaftStorage([1, 2, 3]);
  s.append(terms.map((term, i) => ({ index: i + 1, term, type: EntryType.Normal, data: new Uint8Array(0) })));
  s.setHardState(hs);
  return s;
}

const promise = (p: Partial<DurablePromise>): DurablePromise => ({ ...ID, term: 2, vote: 1, commit: 3, lastIndex: 4, lastTerm: 2, ...p });

function refusal(storage: MemoryRaftStorage, p: DurablePromise | undefined, hasData = true): StorageIntegrityError | undefined {
  try {
    checkAgainstPromise('/data', '/data/rocksdb', storage, p, ID, hasData);
    return undefined;
  } catch (err) {
    if (err instanceof StorageIntegrityError) return err;
    throw err;
  }
}

test('a log holding everything it promised starts', (t) => {
  const s = log([1, 1, 2, 2, 2], { term: 2, vote: 1, commit: 4 });
  t.is(refusal(s, promise({})), undefined);
  t.is(refusal(new MemoryRaftStorage([1]), undefined, false), undefined, 'a new member has neither');
});

test('a log behind the record is refused, naming what is missing', (t) => {
  const cases: [string, MemoryRaftStorage, DurablePromise, RegExp][] = [
    ['tail lost', log([1, 1, 2], { term: 2, vote: 1, commit: 3 }), promise({}), /the log ends at 3, but held index 4/],
    ['term lost', log([1, 1, 2, 2], { term: 1, vote: 0, commit: 3 }), promise({}), /term 1 is below the promised term 2/],
    ['vote changed', log([1, 1, 2, 2], { term: 2, vote: 3, commit: 3 }), promise({}), /voted for 1/],
    ['commit lost', log([1, 1, 2, 2], { term: 2, vote: 1, commit: 1 }), promise({}), /commit index 1 is below the promised 3/],
    ['entry replaced', log([1, 1, 1, 1], { term: 2, vote: 1, commit: 3 }), promise({}), /entry 4 has term 1, but was written with term 2/],
  ];
  for (const [name, s, p, pattern] of cases) {
    const err = refusal(s, p);
    t.is(err?.code, StorageErrorCode.BehindPromise, name);
    t.regex(err?.message ?? '', pattern, name);
    t.regex(err?.message ?? '', /durable-promise\.json.*--discard-local-data-and-rejoin/s, name);
  }
  t.is(refusal(new MemoryRaftStorage([1]), undefined)?.code, StorageErrorCode.MissingFile, 'record deleted');
  t.is(refusal(log([1], { term: 1, vote: 1, commit: 1 }), promise({ memberId: 2 }))?.code, StorageErrorCode.WrongMember);
});

test('a compacted log still covers a recorded position below its start', (t) => {
  const s = log([1, 1, 2, 2, 2, 2], { term: 2, vote: 1, commit: 6 });
  s.createSnapshot(5, { voters: [1, 2, 3] }, new Uint8Array(0));
  s.compact(5);
  t.is(refusal(s, promise({ lastIndex: 4 })), undefined);
  t.is(refusal(s, promise({ lastIndex: 5 })), undefined);
});

test('the keeper records every synced save, publishing it only once the engine write is durable', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-promise-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const errors: unknown[] = [];
  const keeper = new PromiseKeeper(dir, ID, undefined, 60_000, (e) => errors.push(e));
  const state = (s: Partial<PromisedState>): PromisedState => ({ term: 1, vote: 1, commit: 1, lastIndex: 1, lastTerm: 1, ...s });

  await keeper.record(state({}), Promise.resolve());
  t.like(await readDurablePromise(dir), state({}), 'a first record is written before the save resolves');

  // Growth is recorded too, but not before the engine's write is durable.
  let engineDone!: () => void;
  const engineWrite = new Promise<void>((resolve) => (engineDone = resolve));
  const growth = keeper.record(state({ commit: 5, lastIndex: 5 }), engineWrite);
  t.not(growth, undefined);
  const staged = path.join(dir, `${DURABLE_PROMISE_FILE}.tmp`);
  await waitUntil(() => existsSync(staged) && readFileSync(staged, 'utf8').includes('"lastIndex":5'), MIN_WAIT_MS, 'the staged record');
  t.like(await readDurablePromise(dir), { lastIndex: 1 }, 'staged, not published while the engine writes');
  engineDone();
  await growth;
  t.like(await readDurablePromise(dir), { commit: 5, lastIndex: 5 }, 'published once both are durable');

  t.is(keeper.record(state({ commit: 5, lastIndex: 5 }), Promise.resolve()), undefined, 'nothing new: no write');

  // A failed engine write never publishes its record, and fails the save.
  const failing = keeper.record(state({ commit: 7, lastIndex: 7 }), Promise.reject(new Error('EIO')));
  await t.throwsAsync(failing!, { message: 'EIO' });
  t.like(await readDurablePromise(dir), { lastIndex: 5 }, 'the record stays at what the engine holds');

  await keeper.record(state({ term: 2, vote: 3, commit: 5, lastIndex: 4, lastTerm: 2 }), Promise.resolve());
  t.like(await readDurablePromise(dir), { term: 2, vote: 3, lastIndex: 4, lastTerm: 2 }, 'a replaced suffix is recorded');
  await keeper.close();
  t.deepEqual(errors, []);
});

test('a damaged record is refused as a checksum mismatch', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-promise-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeDurablePromise(dir, promise({}));
  const file = path.join(dir, DURABLE_PROMISE_FILE);
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace('"commit":3', '"commit":2'));
  const err = await t.throwsAsync(readDurablePromise(dir), { instanceOf: StorageIntegrityError });
  t.is(err?.code, StorageErrorCode.ChecksumMismatch);
  await writeFile(file, text.slice(0, 20));
  t.regex((await t.throwsAsync(readDurablePromise(dir)))?.message ?? '', /not valid JSON/);
});
