/**
 * Corruption checks across members (issue 11). In a three-member cluster, one follower's
 * store is edited offline (one stored value changed, revisions and everything else kept,
 * so it starts as if healthy). With the start-up check it refuses to start; without it,
 * the leader's periodic check (short --corrupt-check-interval) raises a CORRUPT alarm
 * naming it: the Alarms RPC and `cairn status` show it, every member refuses writes with
 * the clear error, reads still work. The operator rejoins the member and disarms the
 * alarm; writes resume.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import test from 'ava';
import { AlarmAction, AlarmType, MaintenanceServiceClient, type AlarmsResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { startClusterProcesses } from '../helpers/cluster-process.js';
import { forgeValue, waitFor } from '../helpers/key-space-damage.js';
import { runCli, startNodeProcess } from '../helpers/node-process.js';
import { acknowledgedPuts } from '../storage/damage-helpers.js';

const CHECK_INTERVAL_MS = '300';
const ALARM_WAIT_MS = 60_000;

function alarmsOf(address: string, action = AlarmAction.ALARM_ACTION_LIST): Promise<AlarmsResponse> {
  const client = new MaintenanceServiceClient(address, credentials.createInsecure());
  return new Promise<AlarmsResponse>((resolve, reject) =>
    client.alarms(
      { action, memberId: 0, alarm: AlarmType.ALARM_TYPE_UNSPECIFIED },
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        client.close();
        if (err === null) resolve(res);
        else reject(err);
      },
    ),
  );
}

test('a member whose key space differs: refused at start-up, else a CORRUPT alarm stops writes until repaired and disarmed', async (t) => {
  const cluster = await startClusterProcesses(3, ['--corrupt-check-interval', CHECK_INTERVAL_MS]);
  t.teardown(() => cluster.cleanup());
  const leaderName = await cluster.waitForLeader();
  const leader = cluster.member(leaderName);
  const victim = cluster.members.find((m) => m.name !== leaderName)!;
  const victimId = (await victim.status(5000))!.header!.memberId;
  const acks = await acknowledgedPuts(leader.address, 'config', 20);
  await cluster.waitForConvergence();
  t.deepEqual((await alarmsOf(leader.address)).alarms, [], 'no alarm while the members agree');

  await victim.process.stop();
  await forgeValue(victim.process.dataDir, acks[0]!.key, 'forged');
  const initialCluster = cluster.members.map((m) => `${m.name}=${m.address}`).join(',');
  const args = ['--name', victim.name, '--initial-cluster', initialCluster, '--corrupt-check-interval', CHECK_INTERVAL_MS];

  // The start-up check: its peers agree with each other, not with it.
  const refused = await t.throwsAsync(startNodeProcess({ dataDir: victim.process.dataDir, listen: victim.address, args }));
  t.regex(refused?.message ?? '', /key space differs from its peers'.*--discard-local-data-and-rejoin/s);

  // Without it, the leader's periodic check finds it.
  const bad = await startNodeProcess({
    dataDir: victim.process.dataDir,
    listen: victim.address,
    args: [...args, '--no-initial-corrupt-check'],
  });
  t.teardown(() => bad.stop());
  for (const member of cluster.members) {
    const alarms = await waitFor(
      `CORRUPT alarm on ${member.name}`,
      async () => {
        const { alarms } = await alarmsOf(member.address);
        return alarms.length > 0 ? alarms : undefined;
      },
      ALARM_WAIT_MS,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${cluster.logs()}\n--- ${victim.name} (restarted) ---\n${bad.output()}`);
    });
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
    await waitFor(
      `no alarm on ${member.name}`,
      async () => ((await alarmsOf(member.address)).alarms.length === 0 ? true : undefined),
      30_000,
    );
    const put = await runCli(['put', `after-repair-${member.name}`, 'ok', '--endpoints', member.address]);
    t.is(put.code, 0, put.stderr);
  }
  t.false(/CORRUPT/.test((await runCli(['status', '--endpoints', leader.address])).stdout));
});
