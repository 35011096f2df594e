/**
 * etcd's Cluster service on three real member processes: the member list as etcdctl prints
 * it, and a learner added, promoted and removed through a follower (which sends the changes
 * on to the leader), with etcd's errors for the changes Cairn refuses; Maintenance.Hash equal on
 * every member.
 */
import test from 'ava';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { freePort, startClusterProcesses } from '../helpers/cluster-process.js';
import { call, etcdClients, failure } from '../helpers/etcd-admin-clients.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

const b = (s: string): Buffer => Buffer.from(s);
const LEARNER_NOT_READY = 'etcdserver: can only promote a learner member which is in sync with leader';

test('member list, Hash equal on every member, add (learner), promote and remove through a follower, with etcd errors for refused changes', async (t) => {
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  const leader = await cluster.waitForLeader();
  const follower = cluster.members.find((m) => m.name !== leader)!;
  const c = etcdClients(follower.address);
  t.teardown(() => c.close());

  const list = await call(c.cluster, 'memberList', { linearizable: true });
  t.deepEqual(
    list.members.map((m) => [m.name, m.peerURLs, m.clientURLs, m.isLearner]).sort(),
    cluster.members.map((m) => [m.name, [`http://${m.address}`], [`http://${m.address}`], false]).sort(),
  );
  t.true(list.members.some((m) => m.ID === list.header!.memberId));

  // Maintenance.Hash digests the store's content: equal on every member at the same applied state.
  const written = await call(c.kv, 'put', {
    key: b('hash/x'),
    value: b('1'),
    lease: 0,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  });
  await cluster.waitForConvergence();
  const hashes = await Promise.all(
    cluster.members.map(async (m) => {
      const mc = etcdClients(m.address);
      try {
        return await call(mc.maintenance, 'hash', {});
      } finally {
        mc.close();
      }
    }),
  );
  t.deepEqual(
    hashes.map((h) => [h.header!.revision, h.hash]),
    hashes.map(() => [written.header!.revision, hashes[0]!.hash]),
  );

  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const voter = await failure(call(c.cluster, 'memberAdd', { peerURLs: [url], isLearner: false }));
  t.is(voter.code, status.FAILED_PRECONDITION);
  t.regex(voter.details, /learners only/);
  t.is(
    (await failure(call(c.cluster, 'memberAdd', { peerURLs: [`http://${follower.address}`], isLearner: true }))).details,
    'etcdserver: Peer URLs already exists',
  );
  t.is(
    (await failure(call(c.cluster, 'memberAdd', { peerURLs: ['unix:///tmp/x'], isLearner: true }))).details,
    'etcdserver: given member URLs are invalid',
  );

  const added = await call(c.cluster, 'memberAdd', { peerURLs: [url], isLearner: true });
  const learnerId = added.member!.ID;
  t.deepEqual(added.member, { ID: learnerId, name: address, peerURLs: [url], clientURLs: [url], isLearner: true });
  t.is(added.members.length, 4);
  // Not started yet: not in sync with the leader.
  t.is((await failure(call(c.cluster, 'memberPromote', { ID: learnerId }))).details, LEARNER_NOT_READY);
  t.is(
    (await failure(call(c.cluster, 'memberPromote', { ID: list.header!.memberId }))).details,
    'etcdserver: can only promote a learner member',
  );

  const learner = await startNodeProcess({
    dataDir: join(follower.process.dataDir, '..', 'learner'),
    listen: address,
    args: ['--name', address, '--log-level', 'info', '--join', cluster.endpoints.join(',')],
  });
  t.teardown(() => learner.cleanup());
  const lc = etcdClients(learner.address);
  t.teardown(() => lc.close());
  t.true((await call(lc.maintenance, 'status', {})).isLearner);

  // Promotion waits for the learner to catch up: retried while the leader says it is behind.
  for (const deadline = Date.now() + 4 * MIN_WAIT_MS; ;) {
    const err = await call(c.cluster, 'memberPromote', { ID: learnerId }).then(
      () => undefined,
      (e: { details: string }) => e,
    );
    if (err === undefined) break;
    if (err.details !== LEARNER_NOT_READY || Date.now() > deadline) throw new Error(`promote: ${err.details}\n${learner.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const promoted = await call(c.cluster, 'memberList', { linearizable: true });
  t.false(promoted.members.find((m) => m.ID === learnerId)!.isLearner);

  t.is((await call(c.cluster, 'memberUpdate', { ID: learnerId, peerURLs: [url] })).members.length, 4);
  t.is((await failure(call(c.cluster, 'memberUpdate', { ID: learnerId, peerURLs: ['http://127.0.0.1:1'] }))).code, status.UNIMPLEMENTED);

  const removed = await call(c.cluster, 'memberRemove', { ID: learnerId });
  t.false(removed.members.some((m) => m.ID === learnerId));
  await learner.exited();
  t.is((await failure(call(c.cluster, 'memberRemove', { ID: learnerId }))).details, 'etcdserver: member not found');
});
