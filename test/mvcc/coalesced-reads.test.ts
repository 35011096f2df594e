/**
 * CoalescedReads against the real RocksDB engine: reads made in one turn of the event loop
 * go out as one engine read, and every caller gets its own values, in its own order.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoalescedReads, MAX_COALESCED_KEYS } from '../../server/mvcc/coalesced-reads.js';
import type { StorageEngine } from '../../server/storage/engine.js';
import { openEngine } from '../../server/storage/open-engine.js';

const b = (s: string): Buffer => Buffer.from(s);
const text = (values: (Buffer | undefined)[]): (string | undefined)[] => values.map((v) => v?.toString());

/** A real engine whose getMany calls are counted (sizes of each call). */
async function withCountedEngine(fn: (engine: StorageEngine, calls: number[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-coalesced-'));
  const engine = await openEngine('rocksdb', dir);
  const calls: number[] = [];
  const counted: StorageEngine = Object.create(engine) as StorageEngine;
  counted.getMany = (keys) => {
    calls.push(keys.length);
    return engine.getMany(keys);
  };
  try {
    await fn(counted, calls);
  } finally {
    await engine.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

test('reads made in one turn share one engine read and each gets its own values', async (t) => {
  await withCountedEngine(async (engine, calls) => {
    await engine.write(
      ['a', 'b', 'c', 'd'].map((k) => ({ type: 'put' as const, key: b(k), value: b(`v-${k}`) })),
      { sync: false },
    );
    const reads = new CoalescedReads(engine);
    const [one, two, three] = await Promise.all([
      reads.getMany([b('c'), b('a')]),
      reads.getMany([b('missing')]),
      reads.getMany([b('d'), b('b'), b('a')]),
    ]);
    t.deepEqual(text(one), ['v-c', 'v-a']);
    t.deepEqual(text(two), [undefined]);
    t.deepEqual(text(three), ['v-d', 'v-b', 'v-a']);
    t.deepEqual(calls, [6]);

    // A read made after the batch went out starts the next one.
    t.deepEqual(text(await reads.getMany([b('b')])), ['v-b']);
    t.deepEqual(calls, [6, 1]);
    t.deepEqual(await reads.getMany([]), []);
    t.deepEqual(calls, [6, 1]);
  });
});

test('a batch that reaches the bound is sent at once; the rest wait for the next one', async (t) => {
  await withCountedEngine(async (engine, calls) => {
    const reads = new CoalescedReads(engine);
    const keys = Array.from({ length: MAX_COALESCED_KEYS - 1 }, (_, i) => b(`k${i}`));
    const first = reads.getMany(keys);
    const second = reads.getMany([b('x'), b('y')]); // brings the batch past the bound
    t.deepEqual(calls, [MAX_COALESCED_KEYS + 1]); // sent without waiting for the turn to end
    const third = reads.getMany([b('z')]);
    t.is((await first).length, MAX_COALESCED_KEYS - 1);
    t.deepEqual(text(await second), [undefined, undefined]);
    t.deepEqual(text(await third), [undefined]);
    t.deepEqual(calls, [MAX_COALESCED_KEYS + 1, 1]);
  });
});

test('a failed engine read fails every read of its batch, and later reads still go out', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-coalesced-'));
  const engine = await openEngine('rocksdb', dir);
  try {
    const reads = new CoalescedReads(engine);
    await engine.close(); // a closed database rejects every read
    const results = await Promise.allSettled([reads.getMany([b('a')]), reads.getMany([b('b'), b('c')])]);
    t.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    await t.throwsAsync(reads.getMany([b('a')]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
