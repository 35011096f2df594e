/**
 * The corruption check where it used to see nothing (issue 11):
 * - with client authentication on, members ask each other for their hashes over the Raft
 *   peer service (the public HashKV is root-only), so the start-up check refuses a member
 *   whose key space differs and the periodic check raises a CORRUPT alarm naming it;
 * - in a cluster grown from one member by MemberAdd, the first member (which started alone)
 *   runs the periodic check once it has a peer.
 * The differing member is made by editing one stored value offline (key-space-damage.ts).
 */
import { credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import { AlarmType, MaintenanceServiceClient } from '../../gen/ts/cairn/v1/maintenance.js';
import { authClient, kvWithToken, login, maintenanceWithToken, outcome } from '../helpers/auth-clients.js';
import { addRoot, ROOT_PASSWORD } from '../helpers/auth-setup.js';
import { freePort } from '../helpers/cluster-process.js';
import {
  ALARM_WAIT_MS,
  alarmsOnceRaised,
  CHECK_INTERVAL_MS,
  listAlarms,
  restartDamaged,
  startCheckedCluster,
} from '../helpers/corrupt-follower.js';
import { forgeValue } from '../helpers/key-space-damage.js';
import { Members } from '../helpers/member-clients.js';
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS, waitFor } from '../helpers/wait.js';
import { acknowledgedPuts, readAll } from '../storage/damage-helpers.js';

test('with authentication on, a member whose key space differs is refused at start-up, else named by a CORRUPT alarm', async (t) => {
  const { cluster, leader, victim, victimId, acks } = await startCheckedCluster(t);
  const admin = authClient(t, leader.address);
  await addRoot(admin);
  await admin.call('authEnable', {});
  await cluster.waitForConvergence();
  const token = await login(authClient(t, leader.address), 'root', ROOT_PASSWORD);
  t.deepEqual(await listAlarms(maintenanceWithToken(t, leader.address, token)), [], 'no alarm while the members agree');

  // The start-up check, which refuses it, gets its peers' hashes with authentication on.
  const { bad } = await restartDamaged(t, cluster, victim, acks[0]!.key);
  for (const member of cluster.members) {
    const maintenance = maintenanceWithToken(t, member.address, token);
    const alarms = await alarmsOnceRaised(
      member.name,
      () => listAlarms(maintenance),
      () => `${cluster.logs()}\n--- ${victim.name} (restarted) ---\n${bad.output()}`,
    );
    t.deepEqual(
      alarms.map((a) => [a.memberId, a.alarm]),
      [[victimId, AlarmType.ALARM_TYPE_CORRUPT]],
      `${member.name} names only ${victim.name}`,
    );
  }
  // Writes are refused with the clear error, even for root.
  for (const member of cluster.members) {
    t.is(await outcome(kvWithToken(t, member.address, token).set('after-alarm', 'x')), ErrorCode.ERROR_CODE_CORRUPT, member.name);
  }
});

/** Retries while the cluster is not ready for the call yet; bounded only to stop a stuck test. */
async function eventually<T>(attempt: () => Promise<T>, what: string): Promise<T> {
  const deadline = Date.now() + 2 * MIN_WAIT_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      const code = (err as ServiceError).code;
      const retry = code === grpcStatus.FAILED_PRECONDITION || code === grpcStatus.UNAVAILABLE || code === grpcStatus.DEADLINE_EXCEEDED;
      if (!retry || Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('a cluster grown from one member by MemberAdd runs the periodic check: a differing added member is named', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-grown-'));
  const running: NodeProcess[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await rm(root, { recursive: true, force: true });
  });
  const n1Address = `127.0.0.1:${await freePort()}`;
  const n1 = await startNodeProcess({
    dataDir: join(root, 'n1'),
    listen: n1Address,
    args: ['--name', 'n1', '--corrupt-check-interval', CHECK_INTERVAL_MS],
  });
  running.push(n1);
  const members = new Members(n1Address);
  t.teardown(() => members.close());
  const acks = await acknowledgedPuts(n1Address, 'config', 20);

  // Grown to three voters, so that a majority can tell which member differs.
  const joined = new Map<string, { id: number; address: string; process: NodeProcess; args: string[] }>();
  for (const name of ['n2', 'n3']) {
    const address = `127.0.0.1:${await freePort()}`;
    const added = await eventually(() => members.add(name, address), `add ${name}`);
    const id = added.member!.id;
    const args = ['--name', name, '--join', n1Address, '--corrupt-check-interval', CHECK_INTERVAL_MS];
    const process = await startNodeProcess({ dataDir: join(root, name), listen: address, args });
    running.push(process);
    await eventually(() => members.promote(id), `promote ${name}`);
    // It holds every write before anything is damaged.
    await waitFor(
      `${name} caught up`,
      async () => {
        const stored = await readAll(address);
        return acks.every((a) => stored.get(a.key) === a.value) ? true : undefined;
      },
      ALARM_WAIT_MS,
    );
    joined.set(name, { id, address, process, args });
  }
  const { id: n2Id, address: n2Address, process: n2, args: n2Args } = joined.get('n2')!;
  const maintenance = new MaintenanceServiceClient(n1Address, credentials.createInsecure());
  t.teardown(() => maintenance.close());
  t.deepEqual(await listAlarms(maintenance), [], 'no alarm while the members agree');

  await n2.stop();
  await forgeValue(n2.dataDir, acks[0]!.key, 'forged');
  const bad = await startNodeProcess({ dataDir: n2.dataDir, listen: n2Address, args: [...n2Args, '--no-initial-corrupt-check'] });
  running.push(bad);
  const alarms = await alarmsOnceRaised(
    'n1',
    () => listAlarms(maintenance),
    () => `--- n1 ---\n${n1.output()}\n--- n2 ---\n${bad.output()}\n--- n3 ---\n${joined.get('n3')!.process.output()}`,
  );
  t.deepEqual(
    alarms.map((a) => [a.memberId, a.alarm]),
    [[n2Id, AlarmType.ALARM_TYPE_CORRUPT]],
  );
});
