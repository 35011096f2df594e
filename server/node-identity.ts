import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface NodeIdentity {
  clusterId: number;
  memberId: number;
  name: string;
  /** --initial-cluster-token the cluster was bootstrapped with ('' before tokens existed). */
  clusterToken: string;
}

const FILE = 'identity.json';

/** What a data dir remembers of its cluster; undefined for a fresh data dir. */
export async function readIdentity(dataDir: string): Promise<NodeIdentity | undefined> {
  const file = path.join(dataDir, FILE);
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Partial<NodeIdentity>;
    return { clusterId: 0, memberId: 0, name: '', ...stored, clusterToken: stored.clusterToken ?? '' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export interface ClusterTokenChoice {
  readonly token: string;
  /** Why the operator should look at it, if they should. */
  readonly warning?: string;
}

/**
 * The cluster token this member runs with. Like etcd's --initial-cluster-token it matters
 * only at bootstrap: afterwards the data dir's token is used, and a different one on the
 * command line is refused (it would name another cluster). A one-member bootstrap without a
 * token picks a random one, so two such clusters never share an id. Members bootstrapped
 * apart cannot agree on a random token, so a multi-member bootstrap without one runs with
 * none (ids from the member names alone) and says so.
 */
export async function chooseClusterToken(dataDir: string, flag: string, members: number): Promise<ClusterTokenChoice> {
  const stored = await readIdentity(dataDir);
  if (stored !== undefined) {
    if (flag !== '' && flag !== stored.clusterToken) {
      throw new Error(
        `${dataDir} was bootstrapped with another --initial-cluster-token: the token names the cluster, so a member ` +
          'cannot move to another one; leave the flag out (the data dir remembers its token) or use another --data-dir',
      );
    }
    return { token: stored.clusterToken };
  }
  if (flag !== '') return { token: flag };
  if (members === 1) return { token: randomBytes(16).toString('hex') };
  return {
    token: '',
    warning:
      'no --initial-cluster-token: the cluster id comes from the member names alone, so another cluster with the ' +
      'same names could be mistaken for this one; give every member the same unique token when bootstrapping',
  };
}

/**
 * Binds a data dir to one member of one cluster. A data dir started again with another
 * --name, --initial-cluster or token is refused: its Raft log belongs to another cluster,
 * and mixing them would corrupt both.
 */
export async function checkIdentity(dataDir: string, expected: NodeIdentity): Promise<void> {
  const file = path.join(dataDir, FILE);
  const stored = await readIdentity(dataDir);
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
