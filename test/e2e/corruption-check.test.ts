/**
 * Corruption checks across members (issue 11). In a three-member cluster, one follower's
 * store is edited offline (one stored value changed, revisions and everything else kept,
 * so it starts as if healthy). With the start-up check it refuses to start; without it,
 * the leader's periodic check (short --corrupt-check-interval) raises a CORRUPT alarm
 * naming it: the Alarms RPC and `cairn status` show it, every member refuses writes with
 * the clear error, reads still work. The operator rejoins the member and disarms the
 * alarm; writes resume.
 */
import { credentials } from '@grpc/grpc-js';
import test from 'ava';
import { AlarmType, MaintenanceServiceClient, type AlarmMember } from '../../gen/ts/cairn/v1/maintenance.js';
import { alarmsOnceRaised, listAlarms, restartDamaged, startCheckedCluster } from '../helpers/corrupt-follower.js';
import { runCli, startNodeProcess } from '../helpers/node-process.js';
import { waitFor } from '../helpers/wait.js';

/** The alarms listed by the member at `address`, through a client of its own for the one call. */
async function alarmsAt(address: string): Promise<AlarmMember[]> {
  const client = new MaintenanceServiceClient(address, credentials.createInsecure());
  try {
    return await listAlarms(client);
  } finally {
    client.close();
  }
}

test('a member whose key space differs: refused at start-up, else a CORRUPT alarm stops writes until repaired and disarmed', async (t) => {
  const { cluster, leader, victim, victimId, acks } = await startCheckedCluster(t);
  await cluster.waitForConvergence();
  t.deepEqual(await alarmsAt(leader.address), [], 'no alarm while the members agree');

  // Refused by the start-up check; started without it, the leader's periodic check finds it.
  const { bad, args } = await restartDamaged(t, cluster, victim, acks[0]!.key);
  for (const member of cluster.members) {
    const alarms = await alarmsOnceRaised(
      member.name,
      () => alarmsAt(member.address),
      () => `${cluster.logs()}\n--- ${victim.name} (restarted) ---\n${bad.output()}`,
    );
    t.deepEqual(
      alarms.map((a) => [a.memberId, a.alarm]),
      [[victimId, AlarmType.ALARM_TYPE_CORRUPT]],
      `${member.name} names only ${victim.name}`,
    );
    t.regex(alarms[0]!.detail, /differs from/);
  }
  const status = await runCli(['status', '--endpoints', leader.address]);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, new RegExp(`ALARM memberID:${victimId} \\(${victim.name}\\) alarm:CORRUPT`));

  // Writes are refused on every member with the clear error; reads still work.
  for (const member of cluster.members) {
    const put = await runCli(['put', 'after-alarm', 'x', '--endpoints', member.address]);
    t.not(put.code, 0, `a put through ${member.name} was accepted`);
    t.regex(put.stderr, /CORRUPT alarm is active for member\(s\) \d+.*cairn alarm disarm/s, `put through ${member.name}`);
  }
  const read = await runCli(['get', acks[1]!.key, '--endpoints', leader.address]);
  t.is(read.code, 0, read.stderr);
  t.true(read.stdout.includes(acks[1]!.value));

  // Disarming first is possible, but the operator's way is: repair, then disarm.
  await bad.stop();
  const rejoined = await startNodeProcess({
    dataDir: victim.process.dataDir,
    listen: victim.address,
    args: [...args, '--discard-local-data-and-rejoin'],
  });
  t.teardown(() => rejoined.stop());
  const statuses = await cluster.waitForConvergence(60_000);
  const revision = Math.min(...statuses.map((s) => s.header!.revision));
  const hashes = await Promise.all(cluster.members.map((m) => m.hashKv(revision)));
  t.deepEqual(
    hashes.map((h) => h.hash),
    hashes.map(() => hashes[0]!.hash),
    'the rejoined member has the others hash',
  );
  const disarm = await runCli(['alarm', 'disarm', '--endpoints', leader.address]);
  t.is(disarm.code, 0, disarm.stderr);
  t.regex(disarm.stdout, /no alarm is active/);
  // Every member applied the disarm: each accepts a write.
  for (const member of cluster.members) {
    await waitFor(`no alarm on ${member.name}`, async () => ((await alarmsAt(member.address)).length === 0 ? true : undefined), 30_000);
    const put = await runCli(['put', `after-repair-${member.name}`, 'ok', '--endpoints', member.address]);
    t.is(put.code, 0, put.stderr);
  }
  t.false(/CORRUPT/.test((await runCli(['status', '--endpoints', leader.address])).stdout));
});
