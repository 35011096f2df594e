/**
 * A RocksDB defragment (a copy of the live data swapped in by renames: storage/engine-rebuild.ts,
 * engine-swap.ts) killed with SIGKILL at each of its steps, in a real process: on the next
 * open, exactly one complete database is in place, holding every live entry and none of the
 * deleted ones, nothing of the other directory is left, and the engine writes (synced) and
 * defragments again.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discardLocalData } from '../../server/storage/discard-local-data.js';
import type { RebuildStep } from '../../server/storage/engine-rebuild.js';
import type { StorageEngine } from '../../server/storage/engine.js';
import { openEngine } from '../../server/storage/open-engine.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/defragment-until.ts', import.meta.url));
const KEYS = 3000;
/** Enough that the copy takes several batches (4 MiB each), so "copying" is mid-copy. */
const VALUE_BYTES = 8 * 1024;
const STEPS: RebuildStep[] = ['copying', 'copy-ready', 'old-moved-aside', 'copy-in-place', 'old-removed'];

const key = (i: number): Buffer => Buffer.from(`k/${String(i).padStart(5, '0')}`);
/** Every third key is kept. */
const kept = (i: number): boolean => i % 3 === 0;

async function fill(dataDir: string): Promise<Map<string, Buffer>> {
  const engine = await openEngine('rocksdb', dataDir);
  const expected = new Map<string, Buffer>();
  try {
    for (let i = 0; i < KEYS; i += 100) {
      const ops = Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: randomBytes(VALUE_BYTES) }));
      await engine.write(ops, { sync: false });
      for (const op of ops) if (kept(Number(op.key.toString().slice(2)))) expected.set(op.key.toString(), op.value);
    }
    const deletes = Array.from({ length: KEYS }, (_, i) => i)
      .filter((i) => !kept(i))
      .map((i) => ({ type: 'del' as const, key: key(i) }));
    await engine.write(deletes, { sync: true });
  } finally {
    await engine.close();
  }
  return expected;
}

async function contents(engine: StorageEngine): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for await (const [k, v] of engine.scan({})) found.set(k.toString(), v);
  return found;
}

/** Runs the fixture until it says it reached `step`, then kills it with SIGKILL. */
async function killAt(dataDir: string, step: RebuildStep): Promise<string> {
  const child = spawn(process.execPath, ['--import=tsx', FIXTURE, dataDir, step], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`reached ${step}`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the defragment exited (${code}) before reaching ${step}: ${out}`)));
  });
  child.kill('SIGKILL');
  await exited;
  return out;
}

for (const step of STEPS) {
  test(`rocksdb: a defragment killed at "${step}" leaves one complete database, used on the next open`, async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cairn-defrag-crash-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const expected = await fill(dataDir);
    await killAt(dataDir, step);
    const left = await readdir(dataDir);
    t.log(`killed at ${step}: the data dir holds ${left.sort().join(', ')}`);

    const recovered: string[] = [];
    const engine = await openEngine('rocksdb', dataDir, undefined, { onRecovered: (done) => recovered.push(...done) });
    t.teardown(() => engine.close().catch(() => undefined));
    t.log(`recovery: ${recovered.join('; ') || 'nothing to do'}`);
    t.deepEqual(
      (await readdir(dataDir)).filter((name) => name.startsWith('rocksdb')),
      ['rocksdb'],
      'only the engine directory is left',
    );
    const found = await contents(engine);
    t.is(found.size, expected.size, 'every live entry and none of the deleted');
    for (const [k, v] of expected) t.true(found.get(k)?.equals(v), `${k} intact`);

    // The engine works on: a synced write, and a defragment to the end.
    await engine.write([{ type: 'put', key: Buffer.from('after'), value: Buffer.from('crash') }], { sync: true });
    const report = await engine.defragment!();
    t.is(report.method, 'copy');
    t.is((await engine.get(Buffer.from('after')))?.toString(), 'crash');
    t.is((await contents(engine)).size, expected.size + 1);
  });
}

test('rocksdb: discarding the local data removes a crashed defragment ready copy too, so that none is swapped back in', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-defrag-crash-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  await fill(dataDir);
  // Killed with the old files moved aside and the copy ready: the next open would complete the swap.
  await killAt(dataDir, 'old-moved-aside');
  await discardLocalData(dataDir);
  t.deepEqual(
    (await readdir(dataDir)).filter((name) => name.startsWith('rocksdb')),
    [],
  );
  const engine = await openEngine('rocksdb', dataDir);
  t.teardown(() => engine.close().catch(() => undefined));
  t.is((await contents(engine)).size, 0, 'an empty database: nothing of the discarded data came back');
});
