import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface NodeIdentity {
  clusterId: number;
  memberId: number;
  name: string;
}

const FILE = 'identity.json';

/**
 * Binds a data dir to one member of one cluster. A data dir started again with another
 * --name or --initial-cluster is refused: its Raft log belongs to another cluster, and
 * mixing them would corrupt both.
 */
export async function checkIdentity(dataDir: string, expected: NodeIdentity): Promise<void> {
  const file = path.join(dataDir, FILE);
  let stored: NodeIdentity | undefined;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as NodeIdentity;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (stored === undefined) {
    await writeFile(`${file}.tmp`, JSON.stringify(expected) + '\n');
    await rename(`${file}.tmp`, file);
    return;
  }
  if (stored.clusterId !== expected.clusterId || stored.memberId !== expected.memberId) {
    throw new Error(
      `${dataDir} belongs to member "${stored.name}" of cluster ${stored.clusterId}, not to member "${expected.name}" of cluster ${expected.clusterId}: ` +
        'start it with the same --name and --initial-cluster as before, or use another --data-dir',
    );
  }
}
