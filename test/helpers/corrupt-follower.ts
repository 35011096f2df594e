/**
 * The corruption-check tests' common steps: a three-member cluster whose leader checks its
 * followers every CHECK_INTERVAL_MS, one follower whose stored value is changed offline
 * (key-space-damage.ts), and the wait for the alarm that names it.
 *
 *   const { cluster, victim, acks } = await startCheckedCluster(t);
 *   const { bad } = await restartDamaged(t, cluster, victim, acks[0]!.key);
 *   const alarms = await alarmsOnceRaised(member.name, () => listAlarms(client), () => cluster.logs());
 */
import { Metadata } from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import {
  AlarmAction,
  AlarmType,
  type AlarmMember,
  type AlarmsResponse,
  type MaintenanceServiceClient,
} from '../../gen/ts/cairn/v1/maintenance.js';
import { acknowledgedPuts, type Ack } from '../storage/damage-helpers.js';
import { startClusterProcesses, type ClusterMember, type ClusterProcesses } from './cluster-process.js';
import { forgeValue } from './key-space-damage.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';
import { waitFor } from './wait.js';

/** Short, so that the periodic check runs many times within a test. */
export const CHECK_INTERVAL_MS = '300';
/** Bounds a wait on the periodic check only to stop a stuck test (CI shares two busy cores). */
export const ALARM_WAIT_MS = 60_000;

export interface CheckedCluster {
  readonly cluster: ClusterProcesses;
  readonly leader: ClusterMember;
  /** A follower, the member the test damages. */
  readonly victim: ClusterMember;
  readonly victimId: number;
  /** 20 acknowledged puts under "config", all of them on every member once converged. */
  readonly acks: Ack[];
}

/** Three members with the periodic check on and 20 acknowledged puts; stopped at teardown. */
export async function startCheckedCluster(t: ExecutionContext): Promise<CheckedCluster> {
  const cluster = await startClusterProcesses(3, ['--corrupt-check-interval', CHECK_INTERVAL_MS]);
  t.teardown(() => cluster.cleanup());
  const leaderName = await cluster.waitForLeader();
  const leader = cluster.member(leaderName);
  const victim = cluster.members.find((m) => m.name !== leaderName)!;
  const victimId = (await victim.status(5000))!.header!.memberId;
  const acks = await acknowledgedPuts(leader.address, 'config', 20);
  return { cluster, leader, victim, victimId, acks };
}

/**
 * Stops `victim`, changes the value of `key` in its store offline, and asserts that the
 * start-up check refuses it (its peers agree with each other, not with it). Then starts it
 * without that check, stopped at teardown. `args` are the flags it was started with.
 */
export async function restartDamaged(
  t: ExecutionContext,
  cluster: ClusterProcesses,
  victim: ClusterMember,
  key: string,
): Promise<{ bad: NodeProcess; args: string[] }> {
  await victim.process.stop();
  await forgeValue(victim.process.dataDir, key, 'forged');
  const initialCluster = cluster.members.map((m) => `${m.name}=${m.address}`).join(',');
  const args = ['--name', victim.name, '--initial-cluster', initialCluster, '--corrupt-check-interval', CHECK_INTERVAL_MS];

  const refused = await t.throwsAsync(startNodeProcess({ dataDir: victim.process.dataDir, listen: victim.address, args }));
  t.regex(refused?.message ?? '', /key space differs from its peers'.*--discard-local-data-and-rejoin/s);

  const bad = await startNodeProcess({
    dataDir: victim.process.dataDir,
    listen: victim.address,
    args: [...args, '--no-initial-corrupt-check'],
  });
  t.teardown(() => bad.stop());
  return { bad, args };
}

/** The alarms a member lists (Maintenance.Alarms, ALARM_ACTION_LIST). */
export function listAlarms(client: MaintenanceServiceClient): Promise<AlarmMember[]> {
  return new Promise<AlarmsResponse>((resolve, reject) =>
    client.alarms(
      { action: AlarmAction.ALARM_ACTION_LIST, memberId: 0, alarm: AlarmType.ALARM_TYPE_UNSPECIFIED },
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, res) => (err === null ? resolve(res) : reject(err)),
    ),
  ).then((r) => r.alarms);
}

/**
 * What `list` returns once it lists an alarm (the periodic check raised one), within
 * ALARM_WAIT_MS; past that, an error naming `where` with `logs()`.
 */
export function alarmsOnceRaised(where: string, list: () => Promise<AlarmMember[]>, logs: () => string): Promise<AlarmMember[]> {
  return waitFor(
    `CORRUPT alarm on ${where}`,
    async () => {
      const found = await list();
      return found.length > 0 ? found : undefined;
    },
    ALARM_WAIT_MS,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${logs()}`);
  });
}
