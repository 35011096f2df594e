/**
 * Membership changes on real processes under a continuous write load: a one-member cluster
 * grows to three (add a learner, start it with --join, promote it once caught up) and shrinks
 * back, the current leader removing itself on the way (it hands leadership over first). No acknowledged write is lost, and the
 * members that remain hold the same data (HashKV).
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { freePort } from '../helpers/cluster-process.js';
import { Kv, b } from '../helpers/grpc-clients.js';
import { Members, WriteLoad } from '../helpers/member-clients.js';
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceClient, type HashKVResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { credentials, Metadata } from '@grpc/grpc-js';

/** Retries `attempt` while it throws an error `retryable` accepts; bounded only to stop a stuck test. */
async function eventually<T>(attempt: () => Promise<T>, retryable: (err: ServiceError) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 2 * MIN_WAIT_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!retryable(err as ServiceError) || Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const notReadyYet = (err: ServiceError): boolean =>
  err.code === grpcStatus.FAILED_PRECONDITION || err.code === grpcStatus.UNAVAILABLE || err.code === grpcStatus.DEADLINE_EXCEEDED;

function hashKv(address: string, revision: number): Promise<HashKVResponse> {
  const client = new MaintenanceServiceClient(address, credentials.createInsecure());
  return new Promise<HashKVResponse>((resolve, reject) =>
    client.hashKv({ revision }, new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

interface Running {
  readonly name: string;
  readonly address: string;
  readonly process: NodeProcess;
}

test('grow 1 → 3 and shrink back under writes, removing the leader on the way: no acknowledged write lost', async (t) => {
  const step = (what: string): void => t.log(`${new Date().toISOString()} ${what}`);
  const root = await mkdtemp(join(tmpdir(), 'cairn-membership-'));
  const running: Running[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((r) => r.process.cleanup()));
    await rm(root, { recursive: true, force: true });
  });
  const start = async (name: string, args: string[]): Promise<Running> => {
    const address = `127.0.0.1:${await freePort()}`;
    const process = await startNodeProcess({
      dataDir: join(root, name),
      listen: address,
      args: ['--name', name, '--log-level', 'info', ...args],
    });
    const r = { name, address, process };
    running.push(r);
    return r;
  };
  const logs = (): string => running.map((r) => `--- ${r.name} ---\n${r.process.output()}`).join('\n');
  const leaderOf = async (via: Running): Promise<Running> => {
    const members = new Members(via.address);
    try {
      const s = await eventually(
        async () => {
          const st = await members.status();
          if (st.leader === 0) throw Object.assign(new Error('no leader yet'), { code: grpcStatus.UNAVAILABLE });
          return st;
        },
        notReadyYet,
        'leader',
      );
      const list = await members.list();
      const address = list.find((m) => m.id === s.leader)!.address;
      return running.find((r) => r.address === address)!;
    } finally {
      members.close();
    }
  };

  const n1 = await start('n1', []);
  let live: Running[] = [n1];
  const load = new WriteLoad(() => live.map((r) => r.address));

  // Grow: add n2 as a learner; promoting it before it runs is refused, saying how far behind it is.
  for (const name of ['n2', 'n3']) {
    const leader = await leaderOf(live[0]!);
    const members = new Members(leader.address);
    t.teardown(() => members.close());
    const address = `127.0.0.1:${await freePort()}`;
    step(`adding ${name}`);
    const added = await eventually(() => members.add(name, address), notReadyYet, `add ${name}`);
    t.true(added.member!.learner);
    t.true(added.members.some((m) => m.name === name && m.learner));
    const early = await members.promote(added.member!.id).then(
      () => undefined,
      (err: ServiceError) => err,
    );
    t.is(early?.code, grpcStatus.FAILED_PRECONDITION, `promoting a learner that never ran: ${early?.message}`);
    t.regex(early?.details ?? '', /entries behind the leader/);

    step(`starting ${name} with --join`);
    const joined = await startNodeProcess({
      dataDir: join(root, name),
      listen: address,
      args: ['--name', name, '--log-level', 'info', '--join', live.map((r) => r.address).join(',')],
    });
    running.push({ name, address, process: joined });
    step(`promoting ${name}`);
    await eventually(() => members.promote(added.member!.id), notReadyYet, `promote ${name}\n${logs()}`);
    live = [...live, { name, address, process: joined }];
    t.true((await members.list()).every((m) => !m.learner));
  }
  t.is((await new Members(n1.address).list()).length, 3);

  // Shrink: the current leader, asked to remove itself, hands leadership over first and answers
  // NOT_LEADER naming the new leader; the removal sent there applies, and the old leader stops, saying so.
  const leader = await leaderOf(live[0]!);
  const leaderMembers = new Members(leader.address);
  const leaderId = (await leaderMembers.list()).find((m) => m.address === leader.address)!.id;
  step(`removing the leader ${leader.name}`);
  const handedOver = await leaderMembers.remove(leaderId).then(
    () => undefined,
    (err: ServiceError) => err,
  );
  leaderMembers.close();
  t.is(handedOver?.code, grpcStatus.FAILED_PRECONDITION, handedOver?.message);
  t.regex(handedOver?.details ?? '', /leadership moved to .* before removing/);
  const successor = await leaderOf(live.find((r) => r !== leader)!);
  t.not(successor, leader);
  const successorMembers = new Members(successor.address);
  await eventually(() => successorMembers.remove(leaderId), notReadyYet, `remove ${leader.name}`);
  successorMembers.close();
  live = live.filter((r) => r !== leader);
  t.is(await leader.process.exited(), 3, 'a removed member exits with status 3');
  t.regex(leader.process.output(), /was removed from the cluster/);
  const after = await new Members(live[0]!.address).list();
  t.deepEqual(after.map((m) => m.name).sort(), live.map((r) => r.name).sort());

  // Let the load run against the two-member cluster, then stop it and compare.
  const before = load.acknowledged.length;
  await eventually(
    async () => {
      if (load.acknowledged.length < before + 20)
        throw Object.assign(new Error('writes not flowing yet'), { code: grpcStatus.UNAVAILABLE });
    },
    notReadyYet,
    `writes after the leader left\n${load.failures.slice(-5).join('\n')}`,
  );
  await load.stop();
  t.true(load.acknowledged.length > 0);

  const kv = new Kv(new KVServiceClient(live[0]!.address, credentials.createInsecure()));
  const stored = await kv.range({ key: b('load/'), rangeEnd: b('load0'), keysOnly: true });
  const keys = new Set(stored.kvs.map((k) => k.key.toString('latin1')));
  const lost = load.acknowledged.filter((k) => !keys.has(k));
  t.deepEqual(lost, [], 'every acknowledged write is in the store');
  const revision = stored.header!.revision;
  kv.client.close();
  const hashes = await Promise.all(
    live.map((r) =>
      eventually(
        () => hashKv(r.address, revision),
        (err) => err.code === grpcStatus.OUT_OF_RANGE || notReadyYet(err),
        `hash of ${r.name}`,
      ),
    ),
  );
  t.is(new Set(hashes.map((h) => h.hash)).size, 1, `hashes ${JSON.stringify(hashes.map((h) => h.hash))}`);

  // Down to one by removing the leader of the two voters: it hands leadership over first and
  // answers NOT_LEADER naming the new leader, where the removal then goes.
  const first = await leaderOf(live[0]!);
  const firstId = (await new Members(first.address).list()).find((m) => m.address === first.address)!.id;
  const refused = await new Members(first.address).remove(firstId).then(
    () => undefined,
    (err: ServiceError) => err,
  );
  t.is(refused?.code, grpcStatus.FAILED_PRECONDITION, refused?.message);
  t.regex(refused?.details ?? '', /leadership moved to/);
  const last = await leaderOf(live.find((r) => r !== first)!);
  t.not(last, first);
  const lastMembers = new Members(last.address);
  await eventually(() => lastMembers.remove(firstId), notReadyYet, 'remove down to one member');
  lastMembers.close();
  // The removed follower is told by the leader, which refuses its messages: it stops, saying so.
  t.is(await first.process.exited(), 3, first.process.output());
  t.regex(first.process.output(), /applied the removal and refused its messages/);
  live = [last];
  const alone = new Kv(new KVServiceClient(last.address, credentials.createInsecure()));
  t.teardown(() => alone.client.close());
  await eventually(() => alone.set('alone', 'still writes'), notReadyYet, 'write on the one remaining member');
  t.deepEqual(
    (await new Members(last.address).list()).map((m) => m.name),
    [last.name],
  );
});
