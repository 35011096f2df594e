import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { ClusterServiceClient, type MemberListResponse } from '../gen/ts/cairn/v1/cluster.js';
import type { ClusterConfig } from './node/cluster-config.js';
import { readIdentity } from './node-identity.js';
import { readMemberRecords, type StoredMemberRecords } from './storage/member-records.js';

export interface JoinedCluster {
  readonly cluster: ClusterConfig;
  readonly records: StoredMemberRecords;
}

/**
 * `cairn serve --join`: asks the cluster (the first of `endpoints` that answers) for its
 * members and finds this member among them as the learner `cairn member add` added. The
 * member starts from that configuration (itself a learner) and catches up from the leader,
 * by snapshot when the log was compacted. Refused, with what to do, when the cluster does
 * not list it (not added yet, or removed) or lists it as a voter
 * (an existing member's data dir was lost: see --discard-local-data-and-rejoin).
 */
export async function joinCluster(
  endpoints: string,
  name: string,
  channelCredentials: ChannelCredentials = credentials.createInsecure(),
  timeoutMs = 10_000,
): Promise<JoinedCluster> {
  const list = endpoints
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (list.length === 0) throw new Error('--join needs the host:port of at least one member of the cluster');
  const failures: string[] = [];
  for (const endpoint of list) {
    try {
      return fromMemberList(await memberList(endpoint, channelCredentials, timeoutMs), name);
    } catch (err) {
      if (err instanceof JoinRefused) throw err;
      failures.push(`${endpoint}: ${(err as Error).message}`);
    }
  }
  throw new Error(`--join: no member of the cluster answered (${failures.join('; ')})`);
}

class JoinRefused extends Error {}

function fromMemberList(res: MemberListResponse, name: string): JoinedCluster {
  const self = res.members.find((m) => m.name === name);
  if (self === undefined) {
    throw new JoinRefused(
      `--join: the cluster has no member named ${name}: add it first on the cluster with 'cairn member add ${name} --address HOST:PORT'`,
    );
  }
  if (!self.learner) {
    throw new JoinRefused(
      `--join: ${name} is already a voter of the cluster, so this is an existing member's data dir that was lost: ` +
        `start it with its old data dir, or remove it ('cairn member remove ${name}') and add it again (it gets a new id)`,
    );
  }
  const known = res.members.map((m) => ({ id: m.id, name: m.name, address: m.address }));
  return {
    cluster: {
      clusterId: res.header?.clusterId ?? 0,
      self: { id: self.id, name: self.name, address: self.address },
      members: known,
    },
    records: {
      known,
      removed: [],
      start: {
        voters: res.members.filter((m) => !m.learner).map((m) => m.id),
        learners: res.members.filter((m) => m.learner).map((m) => m.id),
      },
    },
  };
}

export function memberList(endpoint: string, channelCredentials: ChannelCredentials, timeoutMs: number): Promise<MemberListResponse> {
  const client = new ClusterServiceClient(endpoint, channelCredentials);
  return new Promise<MemberListResponse>((resolve, reject) => {
    client.memberList({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/**
 * A member started with --join: the first time, it asks the cluster (joinCluster); once its
 * data dir knows the cluster (a restart), it starts from its own records, as the cluster may
 * have changed since (it may even have removed this member, which the log then says).
 */
export async function resumeOrJoin(
  dataDir: string,
  endpoints: string,
  name: string,
  channelCredentials?: ChannelCredentials,
): Promise<JoinedCluster & { readonly token: string }> {
  const stored = await readIdentity(dataDir);
  if (stored === undefined) return { ...(await joinCluster(endpoints, name, channelCredentials)), token: '' };
  const records = readMemberRecords(dataDir);
  if (records === undefined || stored.name !== name) {
    throw new Error(
      `${dataDir} belongs to member "${stored.name}" of cluster ${stored.clusterId}` +
        (records === undefined ? ', which was not started with --join (start it as before)' : `, not to "${name}"`),
    );
  }
  const self = records.known.find((m) => m.id === stored.memberId) ?? { id: stored.memberId, name, address: '' };
  const removed = new Set(records.removed);
  return {
    cluster: { clusterId: stored.clusterId, self, members: records.known.filter((m) => !removed.has(m.id)) },
    records,
    token: stored.clusterToken,
  };
}
