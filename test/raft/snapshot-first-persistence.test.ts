/**
 * Regression: a member killed while installing a snapshot could never start again, because
 * the log was cut back to the snapshot before the snapshot's data reached the store (found
 * by the chaos suite). The data must be installed first.
 */
import test from 'ava';
import { snapshotFirstPersistence } from '../../server/node/snapshot-first-persistence.js';
import type { PersistBatch } from '../../server/node/ports/raft-log-persistence.js';
import type { Snapshot } from '../../server/raft/types.js';

const snapshot: Snapshot = { index: 10, term: 2, confState: { voters: [1, 2, 3] }, data: new Uint8Array(0) };

test('a snapshot is installed in the store before the log is cut back to it', async (t) => {
  const calls: string[] = [];
  const persistence = snapshotFirstPersistence(
    {
      save: (batch: PersistBatch) => {
        calls.push(`save ${batch.snapshot === undefined ? 'entries' : `snapshot ${batch.snapshot.index}`}`);
        return Promise.resolve();
      },
      compact: () => {
        calls.push('compact');
        return Promise.resolve();
      },
    },
    async (s) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      calls.push(`install ${s.index}`);
    },
  );
  await persistence.save({ entries: [], mustSync: true, snapshot });
  await persistence.save({ entries: [{ term: 2, index: 11, type: 'normal', data: new Uint8Array(0) }], mustSync: true });
  t.deepEqual(calls, ['install 10', 'save snapshot 10', 'save entries']);
});

test('a failed install leaves the log untouched', async (t) => {
  let saved = false;
  const persistence = snapshotFirstPersistence(
    {
      save: () => {
        saved = true;
        return Promise.resolve();
      },
      compact: () => Promise.resolve(),
    },
    () => Promise.reject(new Error('disk full')),
  );
  await t.throwsAsync(persistence.save({ entries: [], mustSync: true, snapshot }), { message: 'disk full' });
  t.false(saved);
});
