import { createHash } from 'node:crypto';

export interface ClusterMember {
  readonly name: string;
  readonly id: number;
  /** host:port where the member serves both peers and clients. */
  readonly address: string;
}

export interface ClusterConfig {
  readonly clusterId: number;
  readonly self: ClusterMember;
  readonly members: readonly ClusterMember[];
}

/**
 * Ids derived from names, so that every member computes the same ids from the same
 * --initial-cluster without talking to the others. Below 2^53 so that every SDK can hold
 * them as plain numbers; never 0, which Raft reserves for "nobody".
 */
function idOf(text: string): number {
  const digest = createHash('sha256').update(text).digest();
  return Number(digest.readBigUInt64BE(0) >> 11n) || 1;
}

/** The id of the bootstrap member named `name` in --initial-cluster: the same on every member. */
export function memberIdOf(name: string): number {
  return idOf(`member:${name}`);
}

/**
 * The id of a member added by MemberAdd: new for every addition, so that a name may be added
 * again after its member was removed (a StatefulSet's pods keep their names) while the removed
 * id, and any data dir that still holds it, is refused for good. The leader's term and last
 * log index at the proposal are unique to this addition: only one membership change is pending
 * at a time, and its entry moves the last index on.
 */
export function addedMemberId(name: string, term: number, lastIndex: number): number {
  return idOf(`member:${name}:added-at:${term}.${lastIndex}`);
}

/**
 * Parses `--initial-cluster n1=host:port,n2=host:port,...` for member `name`. Every member
 * must be started with the same names; the cluster id is derived from them, and peers of
 * a cluster with other names are refused. The addresses are where this member dials each
 * peer, so they may differ between members (a proxy in between, for instance).
 */
export function parseInitialCluster(initialCluster: string, name: string, token = ''): ClusterConfig {
  const members: ClusterMember[] = [];
  for (const part of initialCluster
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    const memberName = eq > 0 ? part.slice(0, eq) : '';
    const address = eq > 0 ? part.slice(eq + 1) : '';
    if (memberName === '' || !/^[^:\s]+:\d+$/.test(address)) {
      throw new Error(`--initial-cluster entry "${part}" is not name=host:port`);
    }
    if (members.some((m) => m.name === memberName)) throw new Error(`--initial-cluster names member "${memberName}" twice`);
    members.push({ name: memberName, id: memberIdOf(memberName), address });
  }
  if (members.length === 0) throw new Error('--initial-cluster lists no members');
  const self = members.find((m) => m.name === name);
  if (self === undefined)
    throw new Error(`--name ${name} is not one of the members in --initial-cluster (${members.map((m) => m.name).join(', ')})`);
  // From the names (not the addresses), like the member ids: a member may reach a peer
  // through another address (a proxy, a NAT) and still be in the same cluster.
  const canonical = members
    .map((m) => m.name)
    .sort()
    .join(',');
  return { clusterId: idOf(clusterSeed(token, canonical)), self, members };
}

/**
 * What the cluster id is derived from. The token (--initial-cluster-token) tells apart two
 * clusters with the same member names; an empty token gives the ids of clusters
 * bootstrapped before tokens existed. The id is no secret: every response header carries it.
 */
function clusterSeed(token: string, canonical: string): string {
  return token === '' ? `cluster:${canonical}` : `cluster:token:${token}:${canonical}`;
}

/**
 * The one-member cluster a plain `cairn serve` runs. Its id depends on the name and token
 * only, so that the node may listen on another port (or port 0) after a restart.
 */
export function singleMemberCluster(name: string, address: string, token = ''): ClusterConfig {
  const config = parseInitialCluster(`${name}=${address}`, name);
  return { ...config, clusterId: idOf(token === '' ? `cluster:single:${name}` : `cluster:single:token:${token}:${name}`) };
}
