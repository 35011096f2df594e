/**
 * `cairn member list|add|promote|remove` and the learner column of `cairn status`, against
 * real members: a one-member cluster grows by a learner started with the very command
 * `member add` prints, which is promoted once caught up and then removed; the removed member
 * stops saying so, and its data dir is refused on restart.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/cluster-process.js';
import { runCli, startNodeProcess, type CliResult, type NodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

interface MemberJson {
  name: string;
  id: string;
  address: string;
  learner: boolean;
}

/** Runs a CLI command until it succeeds; bounded only to stop a stuck test. */
async function untilOk(args: string[], retryable: RegExp): Promise<CliResult> {
  const deadline = Date.now() + 2 * MIN_WAIT_MS;
  for (;;) {
    const r = await runCli(args);
    if (r.code === 0 || !retryable.test(r.stderr) || Date.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('member list, add (prints the join command), promote once caught up, remove; status marks learners', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-cli-member-'));
  const nodes: NodeProcess[] = [];
  t.teardown(async () => {
    await Promise.all(nodes.map((n) => n.cleanup()));
    await rm(root, { recursive: true, force: true });
  });
  const n1 = await startNodeProcess({ dataDir: join(root, 'n1'), args: ['--name', 'n1'] });
  nodes.push(n1);
  const ep = ['--endpoints', n1.address];

  const list = await runCli(['member', 'list', ...ep]);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^ID\s+NAME\s+ADDRESS\s+IS LEARNER\n[0-9a-f]+\s+n1\s+127\.0\.0\.1:\d+\s+false\n$/);
  const [only] = JSON.parse((await runCli(['member', 'list', '-o', 'json', ...ep])).stdout) as MemberJson[];
  t.deepEqual(Object.keys(only!).sort(), ['address', 'id', 'learner', 'name']);
  t.is(only!.name, 'n1');
  t.is(only!.address, n1.address);
  t.false(only!.learner);
  t.regex(only!.id, /^[0-9a-f]+$/);
  t.true(list.stdout.includes(only!.id));

  // Add: prints what the new member must run.
  const address = `127.0.0.1:${await freePort()}`;
  const add = await untilOk(['member', 'add', 'n2', '--address', address, ...ep], /NO_LEADER|UNAVAILABLE/);
  t.is(add.code, 0, add.stderr);
  t.regex(add.stdout, /^Member n2 \(id [0-9a-f]+\) added to cluster [0-9a-f]+ as a learner\./);
  const join_ = /^ {2}(cairn serve .*)$/m.exec(add.stdout)?.[1];
  t.is(join_, `cairn serve --name n2 --listen ${address} --data-dir n2.cairn --join ${n1.address}`);
  // The same name twice is refused, and changes nothing.
  const again = await runCli(['member', 'add', 'n2', '--address', address, ...ep]);
  t.is(again.code, 1);
  t.regex(again.stderr, /already in the cluster/);

  // A learner that never ran cannot be promoted: the error says how far behind it is.
  const early = await runCli(['member', 'promote', 'n2', ...ep]);
  t.is(early.code, 1);
  t.regex(early.stderr, /learner n2 is \d+ entries behind the leader/);

  // Start it with the printed command (its data dir placed under the test's root).
  const words = join_!.split(' ').slice(2);
  words[words.indexOf('--data-dir') + 1] = join(root, 'n2');
  const listen = words.splice(words.indexOf('--listen'), 2)[1]!;
  const dataDir = words.splice(words.indexOf('--data-dir'), 2)[1]!;
  const n2 = await startNodeProcess({ dataDir, listen, args: [...words, '--log-level', 'info'] });
  nodes.push(n2);

  const learnerStatus = await runCli(['status', ...ep]);
  t.is(learnerStatus.code, 0, learnerStatus.stderr);
  t.regex(learnerStatus.stdout, /^NAME\s+ID\s+ADDRESS\s+IS LEARNER\s+ROLE/);
  t.regex(learnerStatus.stdout, /^n2\s+[0-9a-f]+\s+127\.0\.0\.1:\d+\s+true\s/m);
  t.regex(learnerStatus.stdout, /^n1\s+[0-9a-f]+\s+127\.0\.0\.1:\d+\s+false\s+leader/m);

  const promote = await untilOk(['member', 'promote', 'n2', ...ep], /entries behind|NO_LEADER|UNAVAILABLE/);
  t.is(promote.code, 0, `${promote.stderr}\n${n2.output()}`);
  t.regex(promote.stdout, /^Member n2 \(id [0-9a-f]+\) promoted to a voter\.$/m);
  const voters = JSON.parse((await runCli(['member', 'list', '-o', 'json', ...ep])).stdout) as MemberJson[];
  t.deepEqual(voters.map((m) => m.name).sort(), ['n1', 'n2']);
  t.true(voters.every((m) => !m.learner));

  // A learner removed before its promotion is told too, though it never sends on its own:
  // hearing from no one, it probes its peers, which refuse it as removed. Its name may be
  // added again, under a new id.
  const n3Address = `127.0.0.1:${await freePort()}`;
  const addN3 = await untilOk(['member', 'add', 'n3', '--address', n3Address, ...ep], /NO_LEADER|UNAVAILABLE|not applied yet/);
  t.is(addN3.code, 0, addN3.stderr);
  const n3Id = /\(id ([0-9a-f]+)\)/.exec(addN3.stdout)![1]!;
  const n3 = await startNodeProcess({
    dataDir: join(root, 'n3'),
    listen: n3Address,
    args: ['--name', 'n3', '--join', n1.address, '--log-level', 'info'],
  });
  nodes.push(n3);
  const removeN3 = await untilOk(['member', 'remove', 'n3', ...ep], /NO_LEADER|UNAVAILABLE|not applied yet/);
  t.is(removeN3.code, 0, removeN3.stderr);
  t.is(await n3.exited(), 3, n3.output());
  t.regex(n3.output(), /was removed from the cluster \(n[12] applied the removal and refused its messages\); it stopped/);
  const readd = await untilOk(['member', 'add', 'n3', '--address', n3Address, ...ep], /NO_LEADER|UNAVAILABLE|not applied yet/);
  t.is(readd.code, 0, readd.stderr);
  t.not(/\(id ([0-9a-f]+)\)/.exec(readd.stdout)![1], n3Id, 'a name added again gets a new id');
  // The old data dir holds the removed id: refused, naming the fix.
  const stale = await runCli(['serve', '--name', 'n3', '--listen', n3Address, '--data-dir', n3.dataDir, '--join', n1.address]);
  t.is(stale.code, 3, stale.stderr);
  t.regex(stale.stderr, /was removed from the cluster and does not start again\. .*empty --data-dir/);
  const dropN3 = await untilOk(['member', 'remove', 'n3', ...ep], /NO_LEADER|UNAVAILABLE|not applied yet/);
  t.is(dropN3.code, 0, dropN3.stderr);

  // Remove the follower n2 (by name): the leader applies it and tells n2, which stops, saying so.
  const leader = await runCli(['status', '-o', 'json', ...ep]);
  const leaderName = (JSON.parse(leader.stdout) as { members: { name: string; role: string }[] }).members.find(
    (m) => m.role === 'leader',
  )!.name;
  const follower = leaderName === 'n1' ? n2 : n1;
  const followerName = leaderName === 'n1' ? 'n2' : 'n1';
  const remaining = leaderName === 'n1' ? n1 : n2;
  const remove = await untilOk(
    ['member', 'remove', followerName, '--endpoints', remaining.address],
    /NO_LEADER|UNAVAILABLE|not applied yet/,
  );
  t.is(remove.code, 0, remove.stderr);
  t.regex(remove.stdout, new RegExp(`^Member ${followerName} \\(id [0-9a-f]+\\) removed from the cluster\\.$`, 'm'));
  t.is(await follower.exited(), 3, follower.output());
  t.regex(follower.output(), /was removed from the cluster .*it stopped\. .*'cairn member add' it again \(it gets a new id\)/);
  const after = JSON.parse((await runCli(['member', 'list', '-o', 'json', '--endpoints', remaining.address])).stdout) as MemberJson[];
  t.deepEqual(
    after.map((m) => m.name),
    [leaderName],
  );

  // Its data dir is refused, with the way back, and the same exit status.
  const restart = await runCli([
    'serve',
    '--name',
    followerName,
    '--listen',
    follower.address,
    '--data-dir',
    follower.dataDir,
    ...(followerName === 'n2' ? ['--join', remaining.address] : []),
  ]);
  t.is(restart.code, 3, restart.stderr);
  t.regex(
    restart.stderr,
    new RegExp(
      `member ${followerName} \\(id [0-9a-f]+\\) was removed from the cluster and does not start again\\. .*'cairn member add' it again \\(it gets a new id\\) and start it with an empty --data-dir and --join`,
    ),
  );

  // An unknown member is a usage error naming the members.
  const unknown = await runCli(['member', 'remove', 'nope', '--endpoints', remaining.address]);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, new RegExp(`no member named nope .*the members are: ${leaderName}`));
});
