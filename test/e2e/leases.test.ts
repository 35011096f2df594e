/**
 * Leases on real processes: a three-member cluster where followers forward keep-alives and
 * time-to-live to the leader; a lease's remaining TTL survives kill -9 of the leader (it is
 * checkpointed through the log, not reset to the granted TTL); a member that catches up by
 * snapshot knows the leases and their keys; a restarted member keeps its leases.
 */
import test from 'ava';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { MaintenanceServiceClient, type MoveLeaderResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { KVServiceClient, PutRequest, RangeRequest, type PutResponse, type RangeResponse } from '../../gen/ts/cairn/v1/kv.js';
import { startClusterProcesses } from '../helpers/cluster-process.js';
import { Leases } from '../helpers/lease-client.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { retryUntilOk } from '../helpers/wait.js';

const ELECTION_TIMEOUT_S = 1;
const WAIT_MS = 60_000;

function call<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

const put = (kv: KVServiceClient, key: string, lease: number): Promise<PutResponse> =>
  call((cb) => kv.put(PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from('v'), lease }), cb));
const keysOf = async (kv: KVServiceClient, prefix: string, serializable = false): Promise<string[]> => {
  const rangeEnd = Buffer.from(prefix);
  rangeEnd[rangeEnd.length - 1]!++;
  const r = await call<RangeResponse>((cb) => kv.range(RangeRequest.fromPartial({ key: Buffer.from(prefix), rangeEnd, serializable }), cb));
  return r.kvs.map((kv) => kv.key.toString());
};

test.serial(
  'after kill -9 of the leader, a lease continues from its remaining TTL (not reset) and follower keep-alives work',
  async (t) => {
    const cluster = await startClusterProcesses(3, ['--lease-checkpoint-interval', '200']);
    t.teardown(() => cluster.cleanup());
    const leaderName = await cluster.waitForLeader();
    const [f1, f2] = cluster.members.filter((m) => m.name !== leaderName);
    const leases1 = new Leases(f1!.address);
    const leases2 = new Leases(f2!.address);
    const kv2 = new KVServiceClient(f2!.address, credentials.createInsecure());
    t.teardown(() => [leases1, leases2].forEach((l) => l.close()));
    t.teardown(() => kv2.close());

    const GRANTED = 30;
    const { id } = await leases1.grant(GRANTED);
    await put(kv2, 'svc/a', id);
    const ka = leases1.keepAlive();
    t.teardown(() => ka.close());
    t.is((await ka.renew(id)).ttl, GRANTED, 'a follower forwards keep-alives to the leader');

    // Let a few seconds of the TTL pass (and checkpoints with them), as the leader reports it.
    let before = (await leases2.timeToLive(id)).ttl;
    while (before > GRANTED - 4) {
      await new Promise((r) => setTimeout(r, 200));
      before = (await leases2.timeToLive(id)).ttl;
    }
    const killedAt = Date.now();
    await cluster.member(leaderName).process.kill();
    await cluster.waitForLeader();
    const after = await retryUntilOk(() => leases2.timeToLive(id), 'time-to-live through a survivor', WAIT_MS);
    const elapsedS = (Date.now() - killedAt) / 1000;
    t.log(`remaining TTL ${before}s before the kill, ${after.ttl}s after (${elapsedS.toFixed(1)}s later)`);
    t.true(after.ttl < GRANTED - 1, `not reset to the granted ${GRANTED}s: ${after.ttl}s`);
    // At most one election timeout (the new leader's grace) above what it was, plus rounding up.
    t.true(after.ttl <= before + ELECTION_TIMEOUT_S + 1, `${after.ttl}s is more than an election timeout over ${before}s`);
    t.true(after.ttl >= before - elapsedS - 1, `${after.ttl}s lost more than the ${elapsedS}s that passed`);
    t.is(after.grantedTtl, GRANTED);
    t.deepEqual(await keysOf(kv2, 'svc/'), ['svc/a']);

    const ka2 = leases2.keepAlive();
    t.teardown(() => ka2.close());
    t.is((await retryUntilOk(() => ka2.renew(id), 'keep-alive through a survivor', WAIT_MS)).ttl, GRANTED);
  },
);

test.serial('a leadership transfer checkpoints remaining TTLs first, so the next leader continues from them', async (t) => {
  // Periodic checkpoints effectively off: only the one taken before the transfer can help.
  const cluster = await startClusterProcesses(3, ['--lease-checkpoint-interval', '3600000']);
  t.teardown(() => cluster.cleanup());
  const leaderName = await cluster.waitForLeader();
  const leader = cluster.member(leaderName);
  const target = cluster.members.find((m) => m.name !== leaderName)!;
  const leases = new Leases(leader.address);
  const targetLeases = new Leases(target.address);
  const maintenance = new MaintenanceServiceClient(leader.address, credentials.createInsecure());
  t.teardown(() => [leases, targetLeases].forEach((l) => l.close()));
  t.teardown(() => maintenance.close());

  const GRANTED = 30;
  const { id } = await leases.grant(GRANTED);
  let before = (await leases.timeToLive(id)).ttl;
  while (before > GRANTED - 4) {
    await new Promise((r) => setTimeout(r, 200));
    before = (await leases.timeToLive(id)).ttl;
  }
  const targetId = (await target.status(5000))!.header!.memberId;
  await call<MoveLeaderResponse>((cb) => maintenance.moveLeader({ targetId }, cb));
  const after = await retryUntilOk(() => targetLeases.timeToLive(id), 'time-to-live on the new leader', WAIT_MS);
  t.log(`remaining TTL ${before}s before the transfer, ${after.ttl}s after`);
  t.true(after.ttl <= before + ELECTION_TIMEOUT_S + 1, `${after.ttl}s: the new leader did not continue from the checkpoint`);
});

test.serial('a member that catches up by snapshot knows the leases and their keys; revoke through it deletes them', async (t) => {
  const cluster = await startClusterProcesses(3, ['--snapshot-count', '20', '--snapshot-catch-up-entries', '5']);
  t.teardown(() => cluster.cleanup());
  const leaderName = await cluster.waitForLeader();
  const leader = cluster.member(leaderName);
  const lagging = cluster.members.find((m) => m.name !== leaderName)!;
  const leases = new Leases(leader.address);
  const kv = new KVServiceClient(leader.address, credentials.createInsecure());
  t.teardown(() => leases.close());
  t.teardown(() => kv.close());

  await lagging.process.stop();
  const { id } = await leases.grant(600);
  for (let i = 0; i < 3; i++) await put(kv, `eph/${i}`, id);
  for (let i = 0; i < 60; i++) await put(kv, `filler/${i}`, 0); // past the snapshot count: the log is compacted
  await lagging.process.restart();
  await cluster.waitForConvergence(WAIT_MS);

  const lagLeases = new Leases(lagging.address);
  const lagKv = new KVServiceClient(lagging.address, credentials.createInsecure());
  t.teardown(() => lagLeases.close());
  t.teardown(() => lagKv.close());
  t.true(lagging.process.output().includes('installed snapshot from the leader'), 'caught up by snapshot');
  t.deepEqual(
    (await lagLeases.list()).leases.map((l) => l.id),
    [id],
  );
  await retryUntilOk(() => lagLeases.revoke(id), 'revoke through the caught-up member', WAIT_MS);
  await cluster.waitForConvergence(WAIT_MS);
  t.deepEqual(await keysOf(lagKv, 'eph/', true), [], 'the caught-up member deleted the keys it learned from the snapshot');
  const hashes = new Set((await Promise.all(cluster.members.map((m) => m.hashKv()))).map((h) => h.hash));
  t.is(hashes.size, 1, 'every member holds the same data');
});

test.serial('a restarted member keeps its leases, their keys and their checkpointed TTL', async (t) => {
  const node = await startNodeProcess({ args: ['--lease-checkpoint-interval', '200'] });
  t.teardown(() => node.cleanup());
  let leases = new Leases(node.address);
  let kv = new KVServiceClient(node.address, credentials.createInsecure());
  const { id } = await leases.grant(120);
  await put(kv, 'svc/x', id);
  leases.close();
  kv.close();
  await node.stop();
  await node.restart();
  leases = new Leases(node.address);
  kv = new KVServiceClient(node.address, credentials.createInsecure());
  t.teardown(() => leases.close());
  t.teardown(() => kv.close());
  const ttl = await retryUntilOk(() => leases.timeToLive(id, true), 'time-to-live after restart', WAIT_MS);
  t.deepEqual(
    ttl.keys.map((k) => k.toString()),
    ['svc/x'],
  );
  t.true(ttl.ttl > 0 && ttl.ttl <= 120 + ELECTION_TIMEOUT_S + 1, `ttl ${ttl.ttl}`);
  t.is(ttl.grantedTtl, 120);
  t.deepEqual(
    (await leases.list()).leases.map((l) => l.id),
    [id],
  );
});
