/**
 * One contract, two engines: RocksDB and LevelDB must behave the same through StorageEngine.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ENGINE_NAMES, type EngineName } from '../../server/config.js';
import type { ScanRange, StorageEngine } from '../../server/storage/engine.js';
import { openEngine } from '../../server/storage/open-engine.js';

const b = (s: string): Buffer => Buffer.from(s);

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'cairn-engine-'));
}

/** Opens a fresh engine, runs fn, closes and removes everything even when fn fails. */
async function withEngine(name: EngineName, fn: (engine: StorageEngine, dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const engine = await openEngine(name, dir);
  let closed = false;
  try {
    await fn(engine, dir);
  } finally {
    if (!closed) await engine.close().catch(() => undefined);
    closed = true;
    await rm(dir, { recursive: true, force: true });
  }
}

async function keysOf(engine: StorageEngine, range: ScanRange): Promise<string[]> {
  const keys: string[] = [];
  for await (const [key] of engine.scan(range)) keys.push(key.toString());
  return keys;
}

for (const name of ENGINE_NAMES) {
  test(`${name}: engine reports its name`, async (t) => {
    await withEngine(name, async (engine) => {
      t.is(engine.name, name);
    });
  });

  test(`${name}: get and getMany answer undefined for missing keys`, async (t) => {
    await withEngine(name, async (engine) => {
      t.is(await engine.get(b('missing')), undefined);
      t.deepEqual(await engine.getMany([]), []);
      await engine.write([{ type: 'put', key: b('a'), value: b('1') }], { sync: true });
      const got = await engine.getMany([b('x'), b('a'), b('y')]);
      t.is(got.length, 3);
      t.is(got[0], undefined);
      t.true(Buffer.isBuffer(got[1]));
      t.deepEqual(got[1], b('1'));
      t.is(got[2], undefined);
      const one = await engine.get(b('a'));
      t.true(Buffer.isBuffer(one));
      t.deepEqual(one, b('1'));
    });
  });

  test(`${name}: empty values and binary keys round-trip`, async (t) => {
    await withEngine(name, async (engine) => {
      const bin = Buffer.from([0x00, 0xff, 0x10, 0x00]);
      await engine.write(
        [
          { type: 'put', key: bin, value: Buffer.alloc(0) },
          { type: 'put', key: b('v'), value: Buffer.from([0, 1, 2, 255]) },
        ],
        { sync: false },
      );
      const [empty, v] = await engine.getMany([bin, b('v')]);
      t.deepEqual(empty, Buffer.alloc(0));
      t.deepEqual(v, Buffer.from([0, 1, 2, 255]));
    });
  });

  test(`${name}: a batch applies puts and deletes together, in order`, async (t) => {
    await withEngine(name, async (engine) => {
      await engine.write(
        [
          { type: 'put', key: b('a'), value: b('1') },
          { type: 'put', key: b('b'), value: b('2') },
        ],
        { sync: true },
      );
      await engine.write(
        [
          { type: 'del', key: b('a') },
          { type: 'put', key: b('c'), value: b('3') },
          { type: 'put', key: b('b'), value: b('2a') },
          // Later ops in a batch win over earlier ones on the same key.
          { type: 'put', key: b('d'), value: b('x') },
          { type: 'del', key: b('d') },
          { type: 'del', key: b('never-existed') },
        ],
        { sync: true },
      );
      t.deepEqual(await engine.getMany([b('a'), b('b'), b('c'), b('d')]), [undefined, b('2a'), b('3'), undefined]);
      t.deepEqual(await keysOf(engine, {}), ['b', 'c']);
      // An empty batch is a no-op, not an error.
      await engine.write([], { sync: true });
      t.deepEqual(await keysOf(engine, {}), ['b', 'c']);
    });
  });

  test(`${name}: a batch with an invalid op writes nothing`, async (t) => {
    await withEngine(name, async (engine) => {
      await engine.write([{ type: 'put', key: b('keep'), value: b('1') }], { sync: true });
      await t.throwsAsync(
        engine.write(
          [
            { type: 'put', key: b('partial'), value: b('1') },
            { type: 'put', key: undefined as unknown as Buffer, value: b('2') },
          ],
          { sync: true },
        ),
      );
      t.deepEqual(await keysOf(engine, {}), ['keep']);
    });
  });

  test(`${name}: scan honours order, bounds and limit`, async (t) => {
    await withEngine(name, async (engine) => {
      const all = ['a', 'b', 'ba', 'c', 'd', 'e'];
      // Written out of order: the engine sorts.
      await engine.write(
        [...all].reverse().map((k) => ({ type: 'put' as const, key: b(k), value: b(`v-${k}`) })),
        { sync: false },
      );
      t.deepEqual(await keysOf(engine, {}), all);
      t.deepEqual(await keysOf(engine, { reverse: true }), [...all].reverse());
      t.deepEqual(await keysOf(engine, { gte: b('b') }), ['b', 'ba', 'c', 'd', 'e']);
      t.deepEqual(await keysOf(engine, { gt: b('b') }), ['ba', 'c', 'd', 'e']);
      t.deepEqual(await keysOf(engine, { lt: b('c') }), ['a', 'b', 'ba']);
      t.deepEqual(await keysOf(engine, { lte: b('c') }), ['a', 'b', 'ba', 'c']);
      t.deepEqual(await keysOf(engine, { gte: b('b'), lt: b('d') }), ['b', 'ba', 'c']);
      t.deepEqual(await keysOf(engine, { gt: b('b'), lte: b('d') }), ['ba', 'c', 'd']);
      t.deepEqual(await keysOf(engine, { gte: b('b'), lt: b('d'), reverse: true }), ['c', 'ba', 'b']);
      t.deepEqual(await keysOf(engine, { gt: b('a'), lte: b('e'), reverse: true, limit: 2 }), ['e', 'd']);
      t.deepEqual(await keysOf(engine, { limit: 3 }), ['a', 'b', 'ba']);
      t.deepEqual(await keysOf(engine, { limit: 0 }), []);
      t.deepEqual(await keysOf(engine, { gte: b('bb'), lt: b('bc') }), []);
      t.deepEqual(await keysOf(engine, { gte: b('z') }), []);
      // Bounds that need not exist as keys.
      t.deepEqual(await keysOf(engine, { gt: b('az'), lt: b('bz') }), ['b', 'ba']);
      // Values come with keys.
      const entries: [string, string][] = [];
      for await (const [k, v] of engine.scan({ gte: b('d') })) entries.push([k.toString(), v.toString()]);
      t.deepEqual(entries, [
        ['d', 'v-d'],
        ['e', 'v-e'],
      ]);
    });
  });

  test(`${name}: scan orders keys by bytes, not by string`, async (t) => {
    await withEngine(name, async (engine) => {
      const keys = [Buffer.from([0x7f]), Buffer.from([0x80]), Buffer.from([0xff]), Buffer.from([0x00]), Buffer.from([0x00, 0x00])];
      await engine.write(
        keys.map((key) => ({ type: 'put' as const, key, value: b('') })),
        { sync: false },
      );
      const seen: string[] = [];
      for await (const [key] of engine.scan({})) seen.push(key.toString('hex'));
      t.deepEqual(seen, ['00', '0000', '7f', '80', 'ff']);
    });
  });

  test(`${name}: breaking out of a scan early releases the iterator`, async (t) => {
    await withEngine(name, async (engine) => {
      await engine.write(
        ['a', 'b', 'c'].map((k) => ({ type: 'put' as const, key: b(k), value: b(k) })),
        { sync: false },
      );
      for await (const [key] of engine.scan({})) {
        t.is(key.toString(), 'a');
        break;
      }
      // A second scan and a write work after the abandoned one (and close does not hang).
      await engine.write([{ type: 'del', key: b('b') }], { sync: false });
      t.deepEqual(await keysOf(engine, {}), ['a', 'c']);
    });
  });

  test(`${name}: data survives close and reopen`, async (t) => {
    const dir = await tempDir();
    try {
      const first = await openEngine(name, dir);
      await first.write(
        [
          { type: 'put', key: b('k1'), value: b('v1') },
          { type: 'put', key: b('k2'), value: b('v2') },
        ],
        { sync: true },
      );
      await first.write([{ type: 'del', key: b('k1') }], { sync: false });
      await first.close();
      const second = await openEngine(name, dir);
      try {
        t.is(second.name, name);
        t.deepEqual(await second.getMany([b('k1'), b('k2')]), [undefined, b('v2')]);
        t.deepEqual(await keysOf(second, {}), ['k2']);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

for (const [written, other] of [
  ['leveldb', 'rocksdb'],
  ['rocksdb', 'leveldb'],
] as const) {
  test(`opening a ${written} data dir with ${other} is refused with a clear message`, async (t) => {
    const dir = await tempDir();
    try {
      const engine = await openEngine(written, dir);
      await engine.write([{ type: 'put', key: b('k'), value: b('v') }], { sync: true });
      await engine.close();
      const err = await t.throwsAsync(openEngine(other, dir));
      t.true(err.message.includes(`holds a ${written} database`), err.message);
      t.true(err.message.includes(`--engine ${written}`), err.message);
      // Refusing did not damage the data: the right engine still opens it.
      const again = await openEngine(written, dir);
      try {
        t.deepEqual(await again.get(b('k')), b('v'));
      } finally {
        await again.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
