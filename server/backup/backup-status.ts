import { MVCC_PREFIX } from '../mvcc/schema.js';
import { decodeStoredVersion } from '../mvcc/stored-version.js';
import { readBackupFile, type BackupSummary } from './backup-file.js';

export interface BackupStatus extends BackupSummary {
  /** Keys visible at the backup's revision (not deleted). */
  readonly keys: number;
}

/**
 * Checks a backup file and counts its live keys. Versions come in revision order, so a
 * key's last version decides whether it is live; the set of names is as large as the key
 * space (what the member itself keeps in its key index).
 */
export async function backupStatus(file: string): Promise<BackupStatus> {
  const live = new Set<string>();
  const summary = await readBackupFile(file, (key, value) => {
    if (key[0] !== MVCC_PREFIX) return;
    const { tombstone, kv } = decodeStoredVersion(key, value);
    const name = kv.key.toString('latin1');
    if (tombstone) live.delete(name);
    else live.add(name);
  });
  return { ...summary, keys: live.size };
}
