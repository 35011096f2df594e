/**
 * RaftLogStore on both engines: the durable log must read back exactly as written, replace
 * conflicting suffixes on disk too, and refuse (never repair silently) a damaged log.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ENGINE_NAMES, type EngineName } from '../../server/config.js';
import type { PersistBatch } from '../../server/node/ports/raft-log-persistence.js';
import { RaftDriver } from '../../server/node/raft-driver.js';
import { InvariantError } from '../../server/invariant.js';
import { RawNode } from '../../server/raft/raw-node.js';
import type { RaftStorage } from '../../server/raft/storage.js';
import type { Entry, HardState } from '../../server/raft/types.js';
import { crc32, tableCrc32 } from '../../server/storage/crc32.js';
import type { BatchOp, ScanRange, StorageEngine } from '../../server/storage/engine.js';
import { openEngine } from '../../server/storage/open-engine.js';
import { encodeEntry, encodeHardState } from '../../server/storage/raft-log-codec.js';
import { RaftLogStore } from '../../server/storage/raft-log-store.js';
import { entryKey, HARD_STATE_KEY, RAFT_LOG_SPAN } from '../../server/storage/reserved-keys.js';
import { StorageErrorCode, StorageIntegrityError } from '../../server/storage/storage-error.js';

const VOTERS = [1, 2, 3];

const ent = (index: number, term: number, data = `e${index}t${term}`): Entry => ({
  index,
  term,
  type: 'normal',
  data: Buffer.from(data),
});
const ents = (from: number, terms: number[]): Entry[] => terms.map((term, i) => ent(from + i, term));
const batch = (entries: Entry[], extra: Partial<PersistBatch> = {}): PersistBatch => ({ entries, mustSync: true, ...extra });

/** A comparable picture of everything the core can read. */
function dump(s: RaftStorage): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const snap = s.snapshot();
  const entries = last >= first ? s.entries(first, last + 1, Infinity) : [];
  return {
    first,
    last,
    offsetTerm: s.term(first - 1),
    initial: s.initialState(),
    snapshot: { index: snap.index, term: snap.term, confState: snap.confState, dataBytes: snap.data.length },
    entries: entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') })),
  };
}

async function storedIndexes(engine: StorageEngine): Promise<number[]> {
  const out: number[] = [];
  for await (const [key] of engine.scan(RAFT_LOG_SPAN)) out.push(key.readUInt32BE(5));
  return out;
}

interface Ctx {
  engine: StorageEngine;
  reopenEngine(): Promise<StorageEngine>;
}

async function withEngine(name: EngineName, fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `cairn-raftlog-${name}-`));
  const ctx: Ctx = {
    engine: await openEngine(name, dir),
    async reopenEngine() {
      await ctx.engine.close();
      ctx.engine = await openEngine(name, dir);
      return ctx.engine;
    },
  };
  try {
    await fn(ctx);
  } finally {
    await ctx.engine.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Delegates to a real engine; writes fail while `failing` is set (a dying disk). */
class FlakyEngine implements StorageEngine {
  failing = false;
  readonly name: string;
  constructor(private readonly inner: StorageEngine) {
    this.name = inner.name;
  }
  get(key: Buffer) {
    return this.inner.get(key);
  }
  getMany(keys: Buffer[]) {
    return this.inner.getMany(keys);
  }
  scan(range: ScanRange) {
    return this.inner.scan(range);
  }
  async write(ops: BatchOp[], options: { sync: boolean }): Promise<void> {
    if (this.failing) throw new Error('EIO: simulated write failure');
    return this.inner.write(ops, options);
  }
  close() {
    return this.inner.close();
  }
}

async function refusal(t: ExecutionContext, engine: StorageEngine, code: StorageErrorCode, message: RegExp): Promise<void> {
  const err = await t.throwsAsync(RaftLogStore.open(engine, { voters: VOTERS }), { instanceOf: StorageIntegrityError, message });
  t.is(err?.code, code);
}

test('table CRC-32 matches zlib and known vectors', (t) => {
  t.is(tableCrc32(Buffer.from('123456789')), 0xcbf43926);
  t.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  const data = randomBytes(1000);
  t.is(tableCrc32(data), crc32(data));
  t.is(tableCrc32(data.subarray(400), tableCrc32(data.subarray(0, 400))), crc32(data));
});

test('the in-memory log keeps no larger buffer alive: views into a received message are copied once, owned data is kept as is', async (t) => {
  await withEngine('rocksdb', async (ctx) => {
    const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
    // A follower's entries: views into the one buffer their peer message was decoded from.
    const message = randomBytes(64 * 1024);
    const views: Entry[] = [1, 2, 3].map((index) => ({
      index,
      term: 1,
      type: 'normal',
      data: new Uint8Array(message.buffer, message.byteOffset + index * 1000, index === 3 ? 0 : 500),
    }));
    // A leader's own proposal: bytes that own their buffer, found again by identity at apply.
    const owned: Entry = { index: 4, term: 1, type: 'normal', data: new Uint8Array(randomBytes(700)) };
    await store.save(batch([...views, owned]));
    const held = store.storage.entries(1, 5, Infinity);
    t.is(held.length, 4);
    for (const [i, e] of held.entries()) {
      const sent = [...views, owned][i]!;
      t.is(e.data.buffer.byteLength, e.data.byteLength, `entry ${e.index} holds exactly its bytes`);
      t.deepEqual(Buffer.from(e.data), Buffer.from(sent.data));
    }
    t.is(held[3]!.data, owned.data);
    t.is(store.memory.heldBytes(), 4 * 16 + 500 + 500 + 700);
  });
});

for (const name of ENGINE_NAMES) {
  test(`${name}: a fresh store is empty with the given voters`, async (t) => {
    await withEngine(name, async ({ engine }) => {
      const store = await RaftLogStore.open(engine, { voters: VOTERS });
      const s = store.storage;
      t.is(s.firstIndex(), 1);
      t.is(s.lastIndex(), 0);
      t.is(s.term(0), 0);
      t.deepEqual(s.initialState(), { hardState: { term: 0, vote: 0, commit: 0 }, confState: { voters: VOTERS } });
    });
  });

  test(`${name}: appended entries and hard state read back, also after reopen`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      const hs: HardState = { term: 3, vote: 2, commit: 4 };
      await store.save(batch(ents(1, [1, 1, 2, 2, 3]), { hardState: hs }));
      await store.save(batch([ent(6, 3, '')], { mustSync: false }));
      const s = store.storage;
      t.is(s.firstIndex(), 1);
      t.is(s.lastIndex(), 6);
      t.is(s.term(3), 2);
      t.is(s.term(6), 3);
      t.deepEqual(
        s.entries(2, 5, Infinity).map((e) => [e.index, e.term, Buffer.from(e.data).toString()]),
        [
          [2, 1, 'e2t1'],
          [3, 2, 'e3t2'],
          [4, 2, 'e4t2'],
        ],
      );
      t.is(s.entries(1, 7, 1).length, 1, 'maxBytes still returns one entry');
      t.deepEqual(s.initialState().hardState, hs);
      const before = dump(s);
      const reopened = await RaftLogStore.open(await ctx.reopenEngine(), { voters: VOTERS });
      t.deepEqual(dump(reopened.storage), before);
      t.is(reopened.storage.entries(6, 7, Infinity)[0]?.data.length, 0, 'empty no-op data survives');
    });
  });

  test(`${name}: a conflicting suffix is replaced, stale entries beyond the new tail are gone`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 1, 1, 1, 1, 1]), { hardState: { term: 1, vote: 1, commit: 2 } }));
      await store.save(batch([ent(3, 2, 'new3'), ent(4, 2, 'new4')], { hardState: { term: 2, vote: 0, commit: 2 } }));
      t.is(store.storage.lastIndex(), 4);
      t.is(store.storage.term(3), 2);
      t.deepEqual(await storedIndexes(ctx.engine), [1, 2, 3, 4]);
      const before = dump(store.storage);
      const reopened = await RaftLogStore.open(await ctx.reopenEngine(), { voters: VOTERS });
      t.deepEqual(dump(reopened.storage), before);
      t.is(Buffer.from(reopened.storage.entries(4, 5, Infinity)[0]!.data).toString(), 'new4');
    });
  });

  test(`${name}: a snapshot replaces the whole log`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 1, 1, 1, 1]), { hardState: { term: 1, vote: 1, commit: 3 } }));
      const snapshot = { index: 10, term: 4, confState: { voters: [1, 2, 3, 4] }, data: Buffer.from('ignored') };
      await store.save(batch([ent(9, 4), ent(10, 4), ent(11, 4), ent(12, 5)], { snapshot, hardState: { term: 5, vote: 4, commit: 11 } }));
      const s = store.storage;
      t.is(s.firstIndex(), 11);
      t.is(s.lastIndex(), 12);
      t.is(s.term(10), 4);
      t.is(s.snapshot().index, 10);
      t.is(s.snapshot().data.length, 0, 'the log store keeps metadata only');
      t.deepEqual(s.initialState().confState, { voters: [1, 2, 3, 4] });
      t.deepEqual(await storedIndexes(ctx.engine), [11, 12]);
      const before = dump(s);
      const reopened = await RaftLogStore.open(await ctx.reopenEngine(), { voters: VOTERS });
      t.deepEqual(dump(reopened.storage), before);
      await t.throwsAsync(reopened.save(batch([], { snapshot: { ...snapshot, index: 9 } })), { instanceOf: InvariantError });
    });
  });

  test(`${name}: a snapshot's configuration keeps its learners across a reopen`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 1, 1]), { hardState: { term: 1, vote: 1, commit: 3 } }));
      const confState = { voters: [1, 2, 3], learners: [4] };
      await store.compact({ index: 3, confState, data: new Uint8Array(0) }, 3);
      t.deepEqual(store.storage.initialState().confState, confState);
      const reopened = await RaftLogStore.open(await ctx.reopenEngine(), { voters: VOTERS });
      t.deepEqual(reopened.storage.initialState().confState, confState);
    });
  });

  test(`${name}: compaction drops entries and keeps the term at the compaction point`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS, compactChunk: 2 });
      await store.save(batch(ents(1, [1, 1, 2, 2, 2, 3, 3, 3, 3, 4]), { hardState: { term: 4, vote: 1, commit: 9 } }));
      await store.compact({ index: 8, confState: { voters: VOTERS }, data: new Uint8Array(3) }, 6);
      const s = store.storage;
      t.is(s.firstIndex(), 7);
      t.is(s.term(6), 3);
      t.is(s.snapshot().index, 8);
      t.is(s.snapshot().term, 3);
      t.deepEqual(await storedIndexes(ctx.engine), [7, 8, 9, 10]);
      const before = dump(s);
      let reopened = await RaftLogStore.open(await ctx.reopenEngine(), { voters: VOTERS });
      t.deepEqual(dump(reopened.storage), before);

      // Up to the snapshot itself; an older snapshot later is ignored but still compacts.
      await reopened.compact({ index: 9, confState: { voters: VOTERS }, data: new Uint8Array(0) }, 9);
      await reopened.compact({ index: 9, confState: { voters: VOTERS }, data: new Uint8Array(0) }, 9);
      t.is(reopened.storage.firstIndex(), 10);
      t.is(reopened.storage.term(9), 3);
      const after = dump(reopened.storage);
      reopened = await RaftLogStore.open(await ctx.reopenEngine(), { voters: VOTERS });
      t.deepEqual(dump(reopened.storage), after);
      t.deepEqual(await storedIndexes(ctx.engine), [10]);
    });
  });

  test(`${name}: entries left below the log start by an interrupted compaction are skipped, then removed`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 1, 1, 1, 1]), { hardState: { term: 1, vote: 1, commit: 5 } }));
      await store.compact({ index: 3, confState: { voters: VOTERS }, data: new Uint8Array(0) }, 3);
      // As if the crash hit after the metadata write, before the deletes.
      await ctx.engine.write([{ type: 'put', key: entryKey(2), value: encodeEntry(ent(2, 1)) }], { sync: true });
      const reopened = await RaftLogStore.open(await ctx.reopenEngine(), { voters: VOTERS });
      t.is(reopened.storage.firstIndex(), 4);
      await reopened.compact({ index: 4, confState: { voters: VOTERS }, data: new Uint8Array(0) }, 4);
      t.deepEqual(await storedIndexes(ctx.engine), [5]);
    });
  });

  test(`${name}: a corrupted entry is refused at open, naming the index`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 1, 1, 1, 1]), { hardState: { term: 1, vote: 1, commit: 5 } }));
      const value = (await ctx.engine.get(entryKey(3)))!;
      const rotten = Buffer.from(value);
      rotten[rotten.length - 2]! ^= 0x04; // one bit inside the entry data
      await ctx.engine.write([{ type: 'put', key: entryKey(3), value: rotten }], { sync: true });
      await refusal(t, await ctx.reopenEngine(), StorageErrorCode.CorruptRecord, /raft log entry 3: checksum mismatch/);
    });
  });

  test(`${name}: an entry stored under the wrong index is refused`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 1, 1])));
      await ctx.engine.write([{ type: 'put', key: entryKey(2), value: encodeEntry(ent(7, 1)) }], { sync: true });
      await refusal(t, ctx.engine, StorageErrorCode.CorruptRecord, /raft log entry 2: record holds index 7/);
    });
  });

  test(`${name}: a gap in the log is refused`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 1, 1, 1, 1]), { hardState: { term: 1, vote: 1, commit: 2 } }));
      await ctx.engine.write([{ type: 'del', key: entryKey(3) }], { sync: true });
      await refusal(t, await ctx.reopenEngine(), StorageErrorCode.InconsistentLog, /gap in raft log: expected entry 3, found 4/);
    });
  });

  test(`${name}: decreasing terms and a commit beyond the log are refused`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 2, 2]), { hardState: { term: 2, vote: 1, commit: 3 } }));
      await ctx.engine.write([{ type: 'put', key: entryKey(3), value: encodeEntry(ent(3, 1)) }], { sync: true });
      await refusal(t, ctx.engine, StorageErrorCode.InconsistentLog, /entry 3 has term 1 below term 2/);
      await ctx.engine.write(
        [
          { type: 'put', key: entryKey(3), value: encodeEntry(ent(3, 2)) },
          { type: 'put', key: HARD_STATE_KEY, value: encodeHardState({ term: 2, vote: 1, commit: 9 }) },
        ],
        { sync: true },
      );
      await refusal(t, ctx.engine, StorageErrorCode.InconsistentLog, /hard state commit 9 outside the log \[0, 3\]/);
    });
  });

  test(`${name}: a failed write rejects, leaves the mirror as it was and stops the store`, async (t) => {
    await withEngine(name, async (ctx) => {
      const flaky = new FlakyEngine(ctx.engine);
      const store = await RaftLogStore.open(flaky, { voters: VOTERS });
      await store.save(batch(ents(1, [1, 1, 1]), { hardState: { term: 1, vote: 1, commit: 1 } }));
      const before = dump(store.storage);
      flaky.failing = true;
      await t.throwsAsync(store.save(batch([ent(3, 2), ent(4, 2)], { hardState: { term: 2, vote: 2, commit: 3 } })), { message: /EIO/ });
      t.deepEqual(dump(store.storage), before, 'the core never sees an unwritten change');
      t.truthy(store.failed);
      flaky.failing = false;
      await t.throwsAsync(store.save(batch([ent(4, 1)])), { message: /EIO/ }, 'a store whose disk failed stays failed');
      await t.throwsAsync(store.compact({ index: 1, confState: { voters: VOTERS }, data: new Uint8Array(0) }, 1), { message: /EIO/ });
      const reopened = await RaftLogStore.open(await ctx.reopenEngine(), { voters: VOTERS });
      t.deepEqual(dump(reopened.storage), before);
    });
  });

  test(`${name}: a batch that would break the log is refused before anything is written`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      await store.save(batch(ents(1, [2, 2, 2])));
      await t.throwsAsync(store.save(batch([ent(6, 2)], { hardState: { term: 9, vote: 0, commit: 0 } })), { message: /gap/ });
      await t.throwsAsync(store.save(batch([ent(4, 1)])), { message: /term 1 below previous term 2/ });
      await t.throwsAsync(store.save(batch([ent(4, 2), ent(6, 2)])), { message: /non-contiguous/ });
      t.is(await ctx.engine.get(HARD_STATE_KEY), undefined);
      t.deepEqual(await storedIndexes(ctx.engine), [1, 2, 3]);
      t.is(store.failed, undefined, 'a refused batch is a caller bug, not a disk failure');
      await store.save(batch([ent(4, 2)]));
      t.is(store.storage.lastIndex(), 4);
    });
  });

  test(`${name}: concurrent calls are applied in call order`, async (t) => {
    await withEngine(name, async (ctx) => {
      const store = await RaftLogStore.open(ctx.engine, { voters: VOTERS });
      const pending = [1, 2, 3, 4, 5, 6].map((i) => store.save(batch([ent(i, 1)], { mustSync: i % 2 === 0 })));
      pending.push(store.compact({ index: 4, confState: { voters: VOTERS }, data: new Uint8Array(0) }, 2));
      await Promise.all(pending);
      t.is(store.storage.firstIndex(), 3);
      t.is(store.storage.lastIndex(), 6);
      t.deepEqual(await storedIndexes(ctx.engine), [3, 4, 5, 6]);
    });
  });

  test(`${name}: drives a real single-member Raft node across a restart, with compaction`, async (t) => {
    await withEngine(name, async (ctx) => {
      const run = async (tag: string, proposals: number): Promise<{ applied: string[]; driver: RaftDriver; store: RaftLogStore }> => {
        const store = await RaftLogStore.open(ctx.engine, { voters: [1] });
        const node = new RawNode({ id: 1, storage: store.storage, random: { nextInt: () => 0 }, electionTick: 10, heartbeatTick: 1 });
        const applied: string[] = [];
        const fatal: unknown[] = [];
        const driver = new RaftDriver({
          node,
          persistence: store,
          sender: { send: () => undefined },
          stateMachine: {
            apply: (es) => void applied.push(...es.filter((e) => e.data.length > 0).map((e) => Buffer.from(e.data).toString())),
            restore: () => undefined,
            snapshot: () => new Uint8Array(0),
          },
          ticker: { start: () => undefined, stop: () => undefined },
          snapshotEvery: 4,
          compactKeep: 2,
          onFatal: (err) => fatal.push(err),
        });
        driver.start();
        driver.campaign();
        await until(() => driver.status().role === 'leader');
        for (let i = 0; i < proposals; i++) t.true(driver.propose(Buffer.from(`${tag}${i}`)).accepted);
        // Entries of an earlier run may be applied again after a restart; wait for ours.
        await until(() => applied.filter((a) => a.startsWith(tag)).length === proposals && !driver.isBusy);
        t.deepEqual(fatal, []);
        driver.stop();
        return { applied, driver, store };
      };
      const first = await run('a', 10);
      t.deepEqual(
        first.applied,
        Array.from({ length: 10 }, (_, i) => `a${i}`),
      );
      t.true(first.store.storage.firstIndex() > 1, 'the driver compacted the log');
      const before = dump(first.store.storage);
      await ctx.reopenEngine();
      const second = await run('b', 3);
      const restored = second.driver.status();
      t.true(restored.term > (before as { initial: { hardState: HardState } }).initial.hardState.term, 'a new term after restart');
      t.is(second.store.storage.lastIndex(), (before as { last: number }).last + 4, 'old log kept: a no-op and three commands appended');
    });
  });
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
