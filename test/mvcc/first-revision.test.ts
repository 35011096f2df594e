/**
 * Where revisions start: as in etcd, a store nothing was written to is at revision 1 and its
 * first write gets revision 2 (etcd's clients compute "created before mine" as rev - 1, and
 * 0 means "no bound"). A store initialised when Cairn still started at 0 keeps its numbering.
 */
import test from 'ava';
import { ENGINE_NAMES } from '../../server/config.js';
import { ErrorCode } from '../../server/errors.js';
import { exportBackup } from '../../server/mvcc/backup-export.js';
import { encodeCounter, META_KEYS } from '../../server/mvcc/schema.js';
import { compactCmd, TestStore } from '../helpers/mvcc-store.js';

for (const engine of ENGINE_NAMES) {
  test(`${engine}: a fresh store is at revision 1, its first write gets 2, and reopening changes neither`, async (t) => {
    const ts = await TestStore.create(engine);
    try {
      t.is(ts.store.currentRevision, 1);
      const empty = await ts.range('', '\0', { revision: 1 });
      t.deepEqual([empty.kvs, empty.revision], [[], 1], 'revision 1 is readable, and empty');
      await ts.reopen();
      t.is(ts.store.currentRevision, 1, 'nothing applied: still the empty store');
      const first = await ts.put('a', '1');
      t.is(first.header?.revision, 2);
      t.like((await ts.range('a')).kvs[0], { createRevision: 2, modRevision: 2, version: 1 });
      await ts.reopen();
      t.is(ts.store.currentRevision, 2);
      t.is((await ts.put('b', '1')).header?.revision, 3);
    } finally {
      await ts.destroy();
    }
  });

  test(`${engine}: compaction at revision 1 of a fresh store is accepted once, as etcd's`, async (t) => {
    const ts = await TestStore.create(engine);
    try {
      t.is((await ts.compact(1)).header?.revision, 1);
      const again = await ts.fails(compactCmd(1));
      t.is(again.code, ErrorCode.ERROR_CODE_COMPACTED);
      t.deepEqual((await ts.range('', '\0', { revision: 1 })).kvs, [], 'the compacted revision itself stays readable');
      t.is((await ts.put('a', '1')).header?.revision, 2);
    } finally {
      await ts.destroy();
    }
  });

  test(`${engine}: a store that recorded revision 0 (initialised before revisions started at 1) keeps its numbering`, async (t) => {
    const ts = await TestStore.create(engine);
    try {
      // What such a store holds after applying commands that wrote no key (a lease grant, say).
      await ts.engine.write(
        [
          { type: 'put', key: META_KEYS.currentRevision, value: encodeCounter(0) },
          { type: 'put', key: META_KEYS.consistentIndex, value: encodeCounter(3) },
        ],
        { sync: true },
      );
      await ts.reopen();
      t.is(ts.store.currentRevision, 0);
      t.is((await ts.put('a', '1')).header?.revision, 1, 'its first write is revision 1, as on the members that wrote it before');
      await ts.reopen();
      t.is(ts.store.currentRevision, 1);
      t.like((await ts.range('a')).kvs[0], { createRevision: 1, modRevision: 1 });
    } finally {
      await ts.destroy();
    }
  });

  test(`${engine}: a backup of a fresh store names revision 1`, async (t) => {
    const ts = await TestStore.create(engine);
    try {
      const pieces = [];
      for await (const piece of exportBackup(ts.engine)) pieces.push(piece);
      t.is(pieces.at(-1)?.revision, 1);
    } finally {
      await ts.destroy();
    }
  });
}
