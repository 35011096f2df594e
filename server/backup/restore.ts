import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { EngineName } from '../config.js';
import { encodeCounter, META_KEYS } from '../mvcc/schema.js';
import { memberIdOf, singleMemberCluster } from '../node/cluster-config.js';
import { checkIdentity } from '../node-identity.js';
import type { BatchOp } from '../storage/engine.js';
import { writeDurablePromise } from '../storage/durable-promise.js';
import { checkEngineOwner } from '../storage/engine-owner.js';
import { RaftLogStore } from '../storage/raft-log-store.js';
import { writeMemberRecords } from '../storage/member-records.js';
import { engineLocation, openEngine } from '../storage/open-engine.js';
import { syncDirectory } from '../streams/sync-directory.js';
import { BackupFileError, readBackupFile, type BackupSummary } from './backup-file.js';

export interface RestoreOptions {
  readonly file: string;
  readonly dataDir: string;
  /** The restored member's name (its --name when it is served). */
  readonly name: string;
  /** Where it serves peers and clients, as the others will reach it once the cluster grows. */
  readonly address: string;
  readonly engine: EngineName;
}

export interface RestoreResult extends BackupSummary {
  readonly clusterId: number;
  readonly memberId: number;
}

/** The alarms name the old cluster's members; a CORRUPT one would stop the new cluster's writes. */
const ALARM_PREFIX = Buffer.from('malarm/');
/** The Raft position the restored store stands for, as etcd's restore starts its log after its own entries. */
const RESTORED = { index: 1, term: 1 } as const;
const BATCH_BYTES = 256 * 1024;
const BATCH_OPS = 4096;

/**
 * Makes a data dir for a new one-member cluster from a backup, as etcdutl snapshot restore
 * does: the store as of the backup's revision (every version since its compaction, leases,
 * users and roles), under a new cluster id and a new Raft log that starts after a snapshot
 * at index 1 (the restored store), so that members added later are sent the store rather
 * than replaying a log that never held it. Alarms are dropped. The file is
 * checked completely before anything is created, and read again (and checked again) while
 * the store is written, in a directory beside the data dir that is renamed into place only
 * when complete; any failure removes it.
 */
export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  const existed = await refuseNonEmpty(o.dataDir);
  await readBackupFile(o.file);
  const token = randomBytes(16).toString('hex');
  const cluster = singleMemberCluster(o.name, o.address, token);
  const identity = { clusterId: cluster.clusterId, memberId: memberIdOf(o.name) };
  // Built aside and renamed into place: a restore cut short leaves no data dir that could start.
  const work = path.join(path.dirname(path.resolve(o.dataDir)), `.${path.basename(o.dataDir)}.restoring-${randomBytes(4).toString('hex')}`);
  await mkdir(work, { recursive: true });
  try {
    const engine = await openEngine(o.engine, work);
    let summary: BackupSummary;
    try {
      let batch: BatchOp[] = [];
      let batchBytes = 0;
      summary = await readBackupFile(o.file, async (key, value) => {
        if (key.subarray(0, ALARM_PREFIX.length).equals(ALARM_PREFIX)) return;
        batch.push({ type: 'put', key, value: key.equals(META_KEYS.consistentIndex) ? encodeCounter(RESTORED.index) : value });
        batchBytes += key.length + value.length;
        if (batchBytes >= BATCH_BYTES || batch.length >= BATCH_OPS) {
          await engine.write(batch, { sync: false });
          batch = [];
          batchBytes = 0;
        }
      });
      await engine.write(batch, { sync: false });
      // The store has applied the new log up to RESTORED.index, and stands at the backup's
      // revision (a store nothing was applied to has no record of either).
      await engine.write(
        [
          { type: 'put', key: META_KEYS.consistentIndex, value: encodeCounter(RESTORED.index) },
          { type: 'put', key: META_KEYS.currentRevision, value: encodeCounter(summary.revision) },
        ],
        { sync: false },
      );
      await checkEngineOwner(engine, engineLocation(o.engine, work), identity);
      // The new log starts after a snapshot, which the restored store is: a member that joins
      // later is sent the store (the entries that made it are in no log).
      const log = await RaftLogStore.open(engine, { voters: [identity.memberId] });
      await log.save({
        snapshot: { ...RESTORED, confState: { voters: [identity.memberId], learners: [] }, data: new Uint8Array(0) },
        hardState: { term: RESTORED.term, vote: 0, commit: RESTORED.index },
        entries: [],
        mustSync: true, // and with it every write before
      });
    } finally {
      await engine.close();
    }
    writeMemberRecords(work, {
      known: [{ id: identity.memberId, name: o.name, address: o.address }],
      removed: [],
      start: { voters: [identity.memberId], learners: [] },
    });
    await writeDurablePromise(work, {
      ...identity,
      term: RESTORED.term,
      vote: 0,
      commit: RESTORED.index,
      lastIndex: RESTORED.index,
      lastTerm: RESTORED.term,
    });
    await checkIdentity(work, { ...identity, name: o.name, clusterToken: token });
    if (existed) await rmdir(o.dataDir); // empty, checked above
    await rename(work, o.dataDir);
    await syncDirectory(path.dirname(path.resolve(o.dataDir)));
    return { ...summary, ...identity };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

/** Whether the data dir exists (empty); refuses one with anything in it. */
async function refuseNonEmpty(dataDir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new BackupFileError(`cannot use ${dataDir} as the data dir: ${(err as Error).message}`);
  }
  if (entries.length > 0) {
    throw new BackupFileError(`${dataDir} is not empty (${entries.length} entries): restore into a new or empty --data-dir`);
  }
  return true;
}
