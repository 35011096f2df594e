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
  t.regex(unknown.stderr, /no member named or numbered n9/);

  // A write still goes through after the leader stops gracefully, through any member.
  t.is(await cluster.member(target).process.stop(), 0);
  t.regex(cluster.member(target).process.output(), /handed leadership over before stopping/);
  const survivors = cluster.members.filter((m) => m.name !== target).map((m) => m.address).join(',');
  const put = await runCli(['put', 'after-handoff', 'ok', '--endpoints', survivors]);
  t.is(put.code, 0, put.stderr);
  const get = await runCli(['get', 'after-handoff', '--endpoints', survivors]);
  t.is(get.stdout, 'after-handoff\nok\n');
});
