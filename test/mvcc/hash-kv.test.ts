/**
 * HashKV reads the key space in pages bounded in bytes as well as in keys: with large values
 * a 1,000-key page would hold up to 1,000 values at once (~1 GiB of 1 MiB values). A real
 * store on each engine, written through the real write path.
 */
import test from 'ava';
import { RangeRequest } from '../../gen/ts/cairn/v1/kv.js';
import { ENGINE_NAMES } from '../../server/config.js';
import { hashKeySpace } from '../../server/mvcc/hash-kv.js';
import type { Revision } from '../../server/mvcc/revision.js';
import { b, TestStore } from '../helpers/mvcc-store.js';

const BIG = 256 * 1024;
const KEYS = 24;

async function filled(engine: (typeof ENGINE_NAMES)[number]): Promise<TestStore> {
  const ts = await TestStore.create(engine);
  // Large values with small keys between them: pages must cut by bytes, not by key count.
  for (let i = 0; i < KEYS; i++) {
    await ts.put(`k/${String(i).padStart(3, '0')}`, String.fromCharCode(65 + (i % 26)).repeat(BIG));
    await ts.put(`k/${String(i).padStart(3, '0')}-small`, `v${i}`);
  }
  return ts;
}

for (const engine of ENGINE_NAMES) {
  test(`${engine}: a range with a page byte bound ends after the read that reaches it, and the pages cover every key`, async (t) => {
    const ts = await filled(engine);
    t.teardown(() => ts.destroy());
    const maxBytes = 1024 * 1024;
    const keysPerRead = 2; // at most 2 x 256 KiB per read
    const all = await ts.range('k/', 'k0');
    t.is(all.kvs.length, 2 * KEYS);
    const seen: string[] = [];
    let from = b('k/');
    let pages = 0;
    for (;;) {
      const page = await ts.store.range(RangeRequest.fromPartial({ key: from, rangeEnd: b('k0'), limit: 1000 }), { maxBytes, keysPerRead });
      pages++;
      const bytes = page.kvs.reduce((n, kv) => n + kv.key.length + kv.value.length, 0);
      t.true(bytes < maxBytes + keysPerRead * (BIG + 64), `page ${pages}: ${bytes} bytes`);
      t.true(page.kvs.length > 0);
      for (const kv of page.kvs) seen.push(kv.key.toString('latin1'));
      if (!page.more) break;
      from = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    t.true(pages >= 6, `${pages} pages for ${KEYS} values of ${BIG} bytes`);
    t.deepEqual(
      seen,
      all.kvs.map((kv) => kv.key.toString('latin1')),
    );
  });

  test(`${engine}: HashKV never reads more than its page allows at once, and its hash does not depend on the paging`, async (t) => {
    const ts = await filled(engine);
    t.teardown(() => ts.destroy());
    const rev = ts.store.currentRevision;
    // Watch every read of stored values HashKV makes (the real loader still runs).
    const load = ts.store.loadVersions.bind(ts.store);
    const reads: number[] = [];
    ts.store.loadVersions = async (revisions: Revision[]) => {
      const kvs = await load(revisions);
      reads.push(kvs.reduce((n, kv) => n + (kv?.value.length ?? 0), 0));
      return kvs;
    };
    const pageBytes = 1024 * 1024;
    const small = await hashKeySpace(ts.store, rev, { pageBytes, maxValueBytes: BIG });
    t.true(reads.length >= KEYS / 2, `${reads.length} reads`);
    t.true(Math.max(...reads) <= pageBytes, `largest read ${Math.max(...reads)} bytes`);
    reads.length = 0;
    const unbounded = await hashKeySpace(ts.store, rev, { pageBytes: Number.MAX_SAFE_INTEGER, maxValueBytes: 1 });
    t.is(reads.length, 1, 'without a byte bound one read takes the whole page');
    t.is(small.hash, unbounded.hash);
    t.is(small.keys, 2 * KEYS);
    t.is(small.revision, rev);
  });
}
