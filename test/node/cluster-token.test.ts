import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInitialCluster, singleMemberCluster } from '../../server/node/cluster-config.js';
import { checkIdentity, chooseClusterToken } from '../../server/node-identity.js';

const NAMES = 'n1=127.0.0.1:1,n2=127.0.0.1:2,n3=127.0.0.1:3';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-token-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the token is mixed into the cluster id; no token keeps the ids of clusters made before tokens', (t) => {
  const a = parseInitialCluster(NAMES, 'n1', 'cluster-a');
  const b = parseInitialCluster(NAMES, 'n1', 'cluster-b');
  const none = parseInitialCluster(NAMES, 'n1');
  t.not(a.clusterId, b.clusterId);
  t.not(a.clusterId, none.clusterId);
  t.is(a.self.id, b.self.id, 'member ids come from names alone');
  t.is(parseInitialCluster(NAMES, 'n2', 'cluster-a').clusterId, a.clusterId, 'every member computes the same id');
  t.not(singleMemberCluster('n1', '127.0.0.1:1', 'x').clusterId, singleMemberCluster('n1', '127.0.0.1:1', 'y').clusterId);
});

test('a lone member picks a random token; members bootstrapped together without one get a warning', async (t) => {
  const [d1, d2, d3] = [await tempDir(t), await tempDir(t), await tempDir(t)];
  const one = await chooseClusterToken(d1, '', 1);
  const two = await chooseClusterToken(d2, '', 1);
  t.regex(one.token, /^[0-9a-f]{32}$/);
  t.not(one.token, two.token);
  t.is(one.warning, undefined);
  const multi = await chooseClusterToken(d3, '', 3);
  t.is(multi.token, '');
  t.regex(multi.warning ?? '', /no --initial-cluster-token/);
  t.deepEqual(await chooseClusterToken(d3, 'given', 3), { token: 'given' });
});

test('the data dir remembers its token; another one on the command line is refused', async (t) => {
  const dir = await tempDir(t);
  const { token } = await chooseClusterToken(dir, '', 1);
  const cluster = singleMemberCluster('solo', '127.0.0.1:1', token);
  await checkIdentity(dir, { clusterId: cluster.clusterId, memberId: cluster.self.id, name: 'solo', clusterToken: token });
  t.deepEqual(await chooseClusterToken(dir, '', 1), { token }, 'a restart without the flag keeps the token');
  t.deepEqual(await chooseClusterToken(dir, token, 1), { token });
  await t.throwsAsync(chooseClusterToken(dir, 'another', 1), { message: /bootstrapped with another --initial-cluster-token/ });
});
