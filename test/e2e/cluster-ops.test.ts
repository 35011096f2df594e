/**
 * Operating a three-member cluster with the CLI: status, move-leader, and a leader that
 * stops on SIGTERM handing leadership over instead of leaving the cluster leaderless.
 */
import test from 'ava';
import { startClusterProcesses } from '../helpers/cluster-process.js';
import { runCli } from '../helpers/node-process.js';

test('status lists every member, move-leader moves leadership, and a stopping leader hands it over', async (t) => {
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  const env = { CAIRN_ENDPOINTS: cluster.endpoints.join(',') };
  const first = await cluster.waitForLeader();

  const status = await runCli(['status', '-o', 'json'], { env });
  t.is(status.code, 0, status.stderr);
  const members = (JSON.parse(status.stdout) as { members: { name: string; role: string; raftTerm: number }[] }).members;
  t.deepEqual(members.map((m) => m.name).sort(), ['n1', 'n2', 'n3']);
  t.is(members.filter((m) => m.role === 'leader').length, 1);
  t.is(members.find((m) => m.role === 'leader')!.name, first);

  const target = ['n1', 'n2', 'n3'].find((n) => n !== first)!;
  const moved = await runCli(['move-leader', target], { env });
  t.is(moved.code, 0, moved.stderr);
  t.regex(moved.stdout, new RegExp(`leadership moved to ${target}`));
  t.is(await cluster.waitForLeader(), target);

  const unknown = await runCli(['move-leader', 'n9'], { env });
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /no member named n9 or with that id/);

  // A write still goes through after the leader stops gracefully, through any member.
  t.is(await cluster.member(target).process.stop(), 0);
  t.regex(cluster.member(target).process.output(), /handed leadership over before stopping/);
  const survivors = cluster.members
    .filter((m) => m.name !== target)
    .map((m) => m.address)
    .join(',');
  const put = await runCli(['put', 'after-handoff', 'ok', '--endpoints', survivors]);
  t.is(put.code, 0, put.stderr);
  const get = await runCli(['get', 'after-handoff', '--endpoints', survivors]);
  t.is(get.stdout, 'after-handoff\nok\n');
});

test('a member cut off from the others serves serializable reads from its own data, but never a stale linearizable or over-bound read', async (t) => {
  const cluster = await startClusterProcesses(3, ['--request-timeout', '1500']);
  const paused: number[] = [];
  t.teardown(async () => {
    for (const pid of paused) process.kill(pid, 'SIGCONT');
    await cluster.cleanup();
  });
  const leader = await cluster.waitForLeader();
  const isolated = cluster.members.find((m) => m.name !== leader)!;
  const others = cluster.members.filter((m) => m !== isolated);
  const at = ['--endpoints', isolated.address, '--command-timeout', '4s'];

  t.is((await runCli(['put', 'k', 'v1', ...at])).code, 0);
  // Everyone else stops: the isolated member keeps its data but hears from no leader.
  for (const m of others) {
    process.kill(m.process.pid, 'SIGSTOP');
    paused.push(m.process.pid);
  }
  const stale = await runCli(['get', 'k', '--serializable', ...at]);
  t.is(stale.code, 0, stale.stderr);
  t.is(stale.stdout, 'k\nv1\n', 'a serializable read answers from local data');

  const linearizable = await runCli(['get', 'k', ...at]);
  t.is(linearizable.code, 1, 'a linearizable read without a quorum must fail');
  t.regex(linearizable.stderr, /UNAVAILABLE|DEADLINE_EXCEEDED/);

  // Long past the bound since the last word from the leader: served linearizably, so it fails too.
  await new Promise((r) => setTimeout(r, 600));
  const bounded = await runCli(['get', 'k', '--serializable', '--max-staleness', '300ms', ...at]);
  t.is(bounded.code, 1, 'a read with a staleness bound the member cannot meet must not answer from local data');

  for (const pid of paused.splice(0)) process.kill(pid, 'SIGCONT');
  await cluster.waitForLeader();
  t.is((await runCli(['put', 'k', 'v2', '--endpoints', others[0]!.address])).code, 0);
  // Back in touch with the leader: within the bound, and it sees the new value.
  let fresh = '';
  for (let i = 0; i < 50 && fresh !== 'k\nv2\n'; i++) {
    fresh = (await runCli(['get', 'k', '--serializable', '--max-staleness', '2s', ...at])).stdout;
  }
  t.is(fresh, 'k\nv2\n');
});
