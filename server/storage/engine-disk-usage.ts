import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Bytes of the files in the engine's directory: what the database takes on disk (etcd's
 * db_size). Both engines keep their files in one flat directory; a file removed between
 * the listing and its stat (a compaction finishing) is simply not counted.
 */
export async function engineDiskBytes(engineDir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(engineDir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    try {
      total += (await stat(path.join(engineDir, entry.name))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return total;
}
