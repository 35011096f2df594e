// The durable-promise record: what counts as a log behind it (refused) and what does not (a
// log legitimately replaced by a newer leader, a compacted log), how the keeper records each
// synced save without claiming more than the engine holds, the two-slot file (a torn write
// of one slot leaves the previous record), the earlier one-file format, and a damaged record refused.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryRaftStorage } from '../../server/raft/memory-storage.js';
import { EntryType } from '../../server/raft/types.js';
import { crc32 } from '../../server/storage/crc32.js';
import {
  DURABLE_PROMISE_FILE,
  DurablePromiseFile,
  LEGACY_DURABLE_PROMISE_FILE,
  readDurablePromise,
  removeDurablePromise,
  SLOT_BYTES,
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
    t.regex(err?.message ?? '', /durable-promise.*--discard-local-data-and-rejoin/s, name);
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

test('the keeper records every synced save, writing it only once the engine write is durable', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-promise-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keeper = new PromiseKeeper(await DurablePromiseFile.open(dir), ID, undefined);
  const state = (s: Partial<PromisedState>): PromisedState => ({ term: 1, vote: 1, commit: 1, lastIndex: 1, lastTerm: 1, ...s });

  await keeper.record(state({}), Promise.resolve());
  t.like(await readDurablePromise(dir), state({}), 'a first record is written before the save resolves');

  // Growth is recorded too, but not before the engine's write is durable.
  let engineDone!: () => void;
  const engineWrite = new Promise<void>((resolve) => (engineDone = resolve));
  let settled = false;
  const growth = keeper.record(state({ commit: 5, lastIndex: 5 }), engineWrite);
  t.not(growth, undefined);
  void growth!.then(() => (settled = true));
  // Other work gets its turns meanwhile (file reads on the thread pool, timers): the record
  // still claims only what the engine holds, and the save has not resolved.
  for (let i = 0; i < 5; i++) {
    t.like(await readDurablePromise(dir), { lastIndex: 1 }, 'not written while the engine writes');
    await new Promise((r) => setImmediate(r));
  }
  t.false(settled, 'the save waits for its record');
  engineDone();
  await growth;
  t.like(await readDurablePromise(dir), { commit: 5, lastIndex: 5 }, 'written once the engine write is durable');

  t.is(keeper.record(state({ commit: 5, lastIndex: 5 }), Promise.resolve()), undefined, 'nothing new: no write');

  // A failed engine write never writes its record, and fails the save.
  const failing = keeper.record(state({ commit: 7, lastIndex: 7 }), Promise.reject(new Error('EIO')));
  await t.throwsAsync(failing!, { message: 'EIO' });
  t.like(await readDurablePromise(dir), { lastIndex: 5 }, 'the record stays at what the engine holds');

  await keeper.record(state({ term: 2, vote: 3, commit: 5, lastIndex: 4, lastTerm: 2 }), Promise.resolve());
  t.like(await readDurablePromise(dir), { term: 2, vote: 3, lastIndex: 4, lastTerm: 2 }, 'a replaced suffix is recorded');
  await keeper.close();

  // Reopened, the file goes on from its newest record, into the other slot.
  const reopened = new PromiseKeeper(await DurablePromiseFile.open(dir), ID, await readDurablePromise(dir));
  await reopened.record(state({ term: 2, vote: 3, commit: 9, lastIndex: 9, lastTerm: 2 }), Promise.resolve());
  await reopened.close();
  t.like(await readDurablePromise(dir), { commit: 9, lastIndex: 9 });
  const slots = await slotRecords(dir);
  t.deepEqual(slots.map((s) => s?.promise.lastIndex).sort(), [4, 9], 'the two latest records, one per slot');
});

/** The records of the file's two slots, as written (undefined for an empty slot). */
async function slotRecords(dir: string): Promise<({ seq: number; promise: DurablePromise } | undefined)[]> {
  const bytes = await readFile(path.join(dir, DURABLE_PROMISE_FILE));
  if (bytes.length !== 2 * SLOT_BYTES) throw new Error(`${bytes.length} bytes in the record file, not ${2 * SLOT_BYTES}`);
  return [bytes.subarray(0, SLOT_BYTES), bytes.subarray(SLOT_BYTES)].map((slot) => {
    const end = slot.indexOf(0x0a);
    return end < 0 ? undefined : (JSON.parse(slot.subarray(0, end).toString('utf8')) as { seq: number; promise: DurablePromise });
  });
}

/** Writes `n` records after a first one; returns the newest. */
async function recordsWritten(dir: string, n: number): Promise<DurablePromise> {
  await writeDurablePromise(dir, promise({ commit: 1 }));
  const file = await DurablePromiseFile.open(dir);
  let last = promise({ commit: 1 });
  for (let i = 2; i <= n + 1; i++) {
    last = promise({ commit: i, lastIndex: i });
    await file.write(last);
  }
  await file.close();
  return last;
}

test('a torn write of the newest slot leaves the previous record in force', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-promise-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const newest = await recordsWritten(dir, 2); // seq 1 in slot 0, 2 in slot 1, 3 in slot 0
  t.like(await readDurablePromise(dir), { commit: newest.commit });
  const file = path.join(dir, DURABLE_PROMISE_FILE);
  const bytes = await readFile(file);
  // A crash halfway through the write of slot 0: its second half still holds zeros.
  const torn = Buffer.from(bytes);
  torn.fill(0, 40, SLOT_BYTES);
  await writeFile(file, torn);
  t.like(await readDurablePromise(dir), { commit: newest.commit - 1 }, 'the older record: it claims less, never more');
  // A bit flipped inside the newest record's text: its checksum fails, the older one counts.
  const flipped = Buffer.from(bytes);
  const at = flipped.indexOf('"commit":3');
  t.true(at >= 0 && at < SLOT_BYTES, 'the newest record is in slot 0');
  flipped.write('"commit":4', at);
  await writeFile(file, flipped);
  t.like(await readDurablePromise(dir), { commit: newest.commit - 1 });
});

test('a record file with no valid slot, or cut short, is refused as a checksum mismatch', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-promise-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await recordsWritten(dir, 1);
  const file = path.join(dir, DURABLE_PROMISE_FILE);
  const bytes = await readFile(file);
  const text = bytes.toString('latin1');
  await writeFile(file, Buffer.from(text.replaceAll('"commit":', '"commix":'), 'latin1'));
  const err = await t.throwsAsync(readDurablePromise(dir), { instanceOf: StorageIntegrityError });
  t.is(err?.code, StorageErrorCode.ChecksumMismatch);
  t.regex(err?.message ?? '', /neither of its two slots.*--discard-local-data-and-rejoin/s);
  await writeFile(file, bytes.subarray(0, SLOT_BYTES));
  t.regex((await t.throwsAsync(readDurablePromise(dir)))?.message ?? '', /4096 bytes where 8192 were written/);
});

test('a record of an earlier version (one JSON file) is read, and replaced by the slot file on the first save', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-promise-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const legacy = path.join(dir, LEGACY_DURABLE_PROMISE_FILE);
  // As durable-promise.ts of earlier versions wrote it: version 1, the checksum over the fields.
  const p = promise({});
  const crc = crc32(Buffer.from([p.clusterId, p.memberId, p.term, p.vote, p.commit, p.lastIndex, p.lastTerm].join(','), 'utf8'));
  await writeFile(legacy, JSON.stringify({ version: 1, crc, promise: p }) + '\n');
  t.deepEqual(await readDurablePromise(dir), p);
  await writeFile(legacy, JSON.stringify({ version: 1, crc: crc + 1, promise: p }) + '\n');
  t.is((await t.throwsAsync(readDurablePromise(dir), { instanceOf: StorageIntegrityError }))?.code, StorageErrorCode.ChecksumMismatch);
  await writeFile(legacy, JSON.stringify({ version: 1, crc, promise: p }).slice(0, 20));
  t.regex((await t.throwsAsync(readDurablePromise(dir)))?.message ?? '', /durable-promise\.json: not valid JSON/);

  await writeFile(legacy, JSON.stringify({ version: 1, crc, promise: p }) + '\n');
  const keeper = new PromiseKeeper(await DurablePromiseFile.open(dir), ID, await readDurablePromise(dir));
  await keeper.record({ term: 2, vote: 1, commit: 4, lastIndex: 5, lastTerm: 2 }, Promise.resolve());
  await keeper.close();
  t.false(existsSync(legacy), 'the legacy record is gone once the slot file is durable');
  t.like(await readDurablePromise(dir), { commit: 4, lastIndex: 5 });
});

test('discarding local data removes the record in every format', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-promise-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await recordsWritten(dir, 1);
  await writeFile(path.join(dir, LEGACY_DURABLE_PROMISE_FILE), '{}');
  await removeDurablePromise(dir);
  t.is(await readDurablePromise(dir), undefined);
});
