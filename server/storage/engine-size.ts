import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** The engines' diagnostic logs (RocksDB's LOG and LOG.old.*, LevelDB's LOG and LOG.old): not data. */
const INFO_LOG = /^LOG(\.old.*)?$/;

/**
 * The storage engine's size in use, in bytes: every file of the engine's directory (its
 * tables, write-ahead log and manifest) but its diagnostic log, as etcd's quota counts
 * the database file. Space
 * freed by deletes and compaction comes back only once the engine compacts its tables, as
 * with etcd's bolt file after a defragment. A file that vanishes while being counted (the
 * engine finished a compaction meanwhile) counts as gone.
 */
export async function engineSizeInUse(engineDir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(engineDir, { withFileTypes: true })) {
    if (!entry.isFile() || INFO_LOG.test(entry.name)) continue;
    try {
      total += (await stat(path.join(engineDir, entry.name))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return total;
}
