/**
 * The operator's membership procedures (docs/operations.md), with the `cairn member` commands
 * on real processes under a continuous write load that records every acknowledged put:
 *
 *   grow 1 → 3 → 5: add a learner, start it with the printed `--join` command, promote it
 *     once caught up (one of them added while another member is down, so that member learns
 *     the newcomer's name and address from a snapshot, not from the log);
 *   shrink 5 → 3: remove the current leader (it hands leadership over first) and a follower
 *     (it is told, and stops);
 *   replace: remove a member, wipe its data dir, add it back under its name (it gets a new id).
 *
 * At the end every acknowledged write is present, and every member reports the same HashKV at
 * the same revision.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { freePort } from '../helpers/cluster-process.js';
import { Kv, b } from '../helpers/grpc-clients.js';
import { WriteLoad } from '../helpers/member-clients.js';
import { runCli, startNodeProcess, type CliResult, type NodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceClient, type HashKVResponse } from '../../gen/ts/cairn/v1/maintenance.js';

/** Small, so that the log is compacted several times during the run and snapshots are sent. */
const SNAPSHOT_FLAGS = ['--snapshot-count', '200', '--snapshot-catch-up-entries', '50'];
/** Wait bounds stop a stuck test only (RELIABILITY.md 14). */
const BOUND_MS = 4 * MIN_WAIT_MS;

interface Running {
  readonly name: string;
  readonly address: string;
  readonly process: NodeProcess;
}

interface MemberJson {
  name: string;
  id: string;
  address: string;
  learner: boolean;
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${BOUND_MS} ms\n${detail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function hashKv(address: string, revision: number): Promise<HashKVResponse> {
  const client = new MaintenanceServiceClient(address, credentials.createInsecure());
  return new Promise<HashKVResponse>((resolve, reject) =>
    client.hashKv({ revision }, new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

test('grow 1 → 3 → 5, shrink to 3 (the leader among the removed), replace a wiped member, under writes: nothing lost, same HashKV', async (t) => {
  // Five members started and stopped one after another, on two shared cores: longer than AVA's default.
  t.timeout(20 * 60_000);
  const step = (what: string): void => {
    t.log(`${new Date().toISOString()} ${what}`);
    console.error(`${new Date().toISOString()} ${what} (${load?.acknowledged.length ?? 0} writes acknowledged)`);
  };
  const root = await mkdtemp(join(tmpdir(), 'cairn-grow-shrink-'));
  const all: Running[] = [];
  let load: WriteLoad | undefined;
  let live: Running[] = [];
  t.teardown(async () => {
    await Promise.all(all.map((r) => r.process.cleanup()));
    await rm(root, { recursive: true, force: true });
  });
  const logs = (): string => all.map((r) => `--- ${r.name} ---\n${r.process.output()}`).join('\n');
  const endpoints = (): string[] => ['--endpoints', live.map((r) => r.address).join(',')];
  /** A member command; retried while the cluster is between leaders or a learner catches up. */
  const member = (
    args: string[],
    retryable = /NO_LEADER|UNAVAILABLE|DEADLINE_EXCEEDED|not applied yet|no member knows a leader|entries behind/,
  ): Promise<CliResult> =>
    until(
      `cairn member ${args.join(' ')}`,
      async () => {
        const r = await runCli(['member', ...args, ...endpoints()]);
        return r.code === 0 || !retryable.test(r.stderr) ? r : undefined;
      },
      logs,
    );
  const members = async (via: Running): Promise<MemberJson[]> => {
    const r = await runCli(['member', 'list', '-o', 'json', '--endpoints', via.address]);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as MemberJson[];
  };
  const leader = (): Promise<Running> =>
    until('a leader', async () => {
      const r = await runCli(['status', '-o', 'json', ...endpoints()]);
      if (r.code !== 0) return undefined;
      const s = JSON.parse(r.stdout) as { members: { name: string; role?: string }[] };
      const name = s.members.find((m) => m.role === 'leader')?.name;
      return live.find((x) => x.name === name);
    });
  const n1Address = `127.0.0.1:${await freePort()}`;
  const n1 = await startNodeProcess({
    dataDir: join(root, 'n1'),
    listen: n1Address,
    args: ['--name', 'n1', '--log-level', 'info', ...SNAPSHOT_FLAGS],
  });
  all.push({ name: 'n1', address: n1Address, process: n1 });
  live = [...all];
  load = new WriteLoad(() => live.map((r) => r.address));
  t.teardown(() => load.stop());
  /** The writes keep being acknowledged: `more` new ones after this point. */
  const writesFlow = async (more: number, what: string): Promise<void> => {
    const target = load.acknowledged.length + more;
    await until(
      `${more} more acknowledged writes ${what}`,
      () => Promise.resolve(load.acknowledged.length >= target ? true : undefined),
      () => load.failures.slice(-5).join('\n'),
    );
  };

  await writesFlow(50, 'on one member');

  /** Adds `name` as a learner, starts it with the command `member add` printed, promotes it once caught up. */
  const grow = async (name: string, address?: string): Promise<Running> => {
    const at = address ?? `127.0.0.1:${await freePort()}`;
    step(`adding ${name}`);
    const add = await member(['add', name, '--address', at]);
    t.is(add.code, 0, add.stderr);
    const command = /^ {2}cairn serve (.*)$/m.exec(add.stdout)?.[1];
    t.truthy(command, add.stdout);
    const words = command!.split(' ');
    const take = (flag: string): string => words.splice(words.indexOf(flag), 2)[1]!;
    t.is(take('--listen'), at);
    t.is(take('--data-dir'), `${name}.cairn`);
    const process = await startNodeProcess({
      dataDir: join(root, name),
      listen: at,
      args: [...words, '--log-level', 'info', ...SNAPSHOT_FLAGS],
    });
    const joined = { name, address: at, process };
    all.push(joined);
    t.true((await members(live[0]!)).find((m) => m.name === name)!.learner, `${name} is a learner until promoted`);
    step(`promoting ${name} once caught up`);
    const promote = await member(['promote', name]);
    t.is(promote.code, 0, `${promote.stderr}\n${logs()}`);
    live = [...live, joined];
    t.true((await members(joined)).every((m) => !m.learner));
    await writesFlow(20, `after adding ${name}`);
    return joined;
  };
  /** Removes `target` with `cairn member remove`; it stops by itself, saying so. */
  const shrink = async (target: Running): Promise<CliResult> => {
    step(`removing ${target.name}`);
    live = live.filter((r) => r !== target);
    const r = await member(['remove', target.name]);
    t.is(r.code, 0, `${r.stderr}\n${logs()}`);
    t.is(await target.process.exited(), 3, `${target.name} exits with status 3 once removed\n${target.process.output()}`);
    t.regex(target.process.output(), /was removed from the cluster .*it stopped\./);
    t.false((await members(live[0]!)).some((m) => m.name === target.name));
    await writesFlow(20, `after removing ${target.name}`);
    return r;
  };

  // Grow 1 → 3 → 5. n5 is added while n2 is down, and the log is compacted past that
  // change before n2 returns: n2 gets n5 in a snapshot's configuration, without its name.
  await grow('n2');
  await grow('n3');
  await grow('n4');
  const n2 = all.find((r) => r.name === 'n2')!;
  step('stopping n2 while n5 is added');
  live = live.filter((r) => r !== n2);
  t.is(await n2.process.stop(), 0);
  const n5 = await grow('n5');
  await writesFlow(400, 'so that the log is compacted past the addition of n5');
  step('restarting n2');
  await n2.process.restart();
  live = [...live, n2];
  const seenByN2 = await until(
    'n2 knows where n5 listens',
    async () => {
      const list = await members(n2);
      const found = list.find((m) => m.id === list.find((x) => x.name === 'n5')?.id);
      return found?.address === n5.address ? list : undefined;
    },
    logs,
  );
  t.is(seenByN2.length, 5);
  t.regex(n2.process.output(), /learned the names and addresses of members/);

  // Shrink 5 → 3: the leader first (it hands leadership over, and the command follows it), then a follower.
  const first = await leader();
  const removedLeader = await shrink(first);
  t.regex(removedLeader.stderr, /leadership moved to .* before removing/);
  const newLeader = await leader();
  await shrink(live.find((r) => r !== newLeader)!);
  t.is((await members(live[0]!)).length, 3);

  // Replace: remove a follower, wipe its data dir, add the machine back under its name and a new id.
  const lead = await leader();
  const lost = live.find((r) => r !== lead)!;
  const oldId = (await members(lost)).find((m) => m.name === lost.name)!.id;
  await shrink(lost);
  step(`wiping ${lost.name}'s data dir`);
  await rm(join(root, lost.name), { recursive: true, force: true });
  const back = await grow(lost.name, lost.address);
  const newId = (await members(back)).find((m) => m.name === lost.name)!.id;
  t.not(newId, oldId, 'the replacement has a new id');
  t.deepEqual((await members(live[0]!)).map((m) => m.name).sort(), live.map((r) => r.name).sort());
  t.is(live.length, 3);

  step('stopping the load and comparing');
  await load.stop();
  const kv = new Kv(new KVServiceClient(live[0]!.address, credentials.createInsecure()));
  const stored = await kv.range({ key: b('load/'), rangeEnd: b('load0'), keysOnly: true });
  kv.client.close();
  const keys = new Set(stored.kvs.map((k) => k.key.toString('latin1')));
  t.true(load.acknowledged.length > 500, `only ${load.acknowledged.length} writes acknowledged`);
  t.deepEqual(
    load.acknowledged.filter((k) => !keys.has(k)),
    [],
    'every acknowledged write is in the store',
  );
  const revision = stored.header!.revision;
  const hashes = await Promise.all(
    live.map((r) =>
      until(`HashKV of ${r.name} at ${revision}`, () =>
        hashKv(r.address, revision).catch((err: ServiceError) => {
          if (err.code === grpcStatus.OUT_OF_RANGE || err.code === grpcStatus.UNAVAILABLE) return undefined;
          throw err;
        }),
      ),
    ),
  );
  t.log(
    `revision ${revision}: ${hashes.map((h, i) => `${live[i]!.name} ${h.hash}`).join(', ')}; ${load.acknowledged.length} writes acknowledged`,
  );
  t.is(new Set(hashes.map((h) => h.hash)).size, 1, `hashes at revision ${revision}: ${JSON.stringify(hashes.map((h) => h.hash))}`);
  t.deepEqual(
    hashes.map((h) => h.revision),
    live.map(() => revision),
  );
});
