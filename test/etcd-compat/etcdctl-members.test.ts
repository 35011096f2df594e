/**
 * etcdctl 3.7.3's member commands against a three-member Cairn cluster (real processes):
 * a voter add is refused with the reason (Cairn adds learners only, see
 * docs/etcd-compatibility.md), a learner is added, started with `cairn serve --join`,
 * promoted once in sync, listed as a voter, updated to its own URL, and removed (its process
 * then exits).
 */
import test from 'ava';
import { join } from 'node:path';
import { freePort, startClusterProcesses } from '../helpers/cluster-process.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';
import { ETCDCTL_37, requireEtcdTools } from './etcd-tools.js';
import { runEtcdctl, visible } from './etcdctl-run.js';

const NOT_IN_SYNC = 'etcdserver: can only promote a learner member which is in sync with leader';

/** etcdctl's simple `member list` line of the member at `url`: id, status, name, peer URLs, client URLs, is learner. */
function listed(stdout: string, url: string): string[] | undefined {
  return stdout
    .split('\n')
    .map((line) => line.split(', '))
    .find((fields) => fields[3] === url);
}

test('etcdctl member add (voter refused, learner), start, promote, list, update, remove on a Cairn cluster', async (t) => {
  requireEtcdTools();
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  await cluster.waitForLeader();
  const ctl = (...args: string[]) => runEtcdctl(ETCDCTL_37, cluster.endpoints, args);

  const address = `127.0.0.1:${await freePort()}`;
  const url = `http://${address}`;

  const voter = await ctl('member', 'add', address, `--peer-urls=${url}`);
  t.not(voter.code, 0, visible(voter));
  // Not one of etcd's errors, so etcdctl prints the status: "Error: rpc error: code = FailedPrecondition desc = ...".
  t.regex(visible(voter), /FailedPrecondition desc = etcdserver: Cairn adds members as learners only/);
  t.is(listed((await ctl('member', 'list')).stdout, url), undefined, 'the refused add changed nothing');

  const add = await ctl('member', 'add', address, '--learner', `--peer-urls=${url}`);
  t.is(add.code, 0, visible(add));
  const id = /Member\s+([0-9a-f]+) added as learner to cluster/.exec(add.stdout)?.[1];
  t.truthy(id, add.stdout);
  // An unstarted member: etcd lists it unstarted and unnamed; Cairn names it by its address.
  t.deepEqual(listed((await ctl('member', 'list')).stdout, url), [id, 'started', address, url, url, 'true']);
  const early = await ctl('member', 'promote', id!);
  t.regex(visible(early), new RegExp(`Error: ${NOT_IN_SYNC}`));

  const learner = await startNodeProcess({
    dataDir: join(cluster.member('n1').process.dataDir, '..', 'learner'),
    listen: address,
    args: ['--name', address, '--log-level', 'info', '--join', cluster.endpoints.join(',')],
  });
  t.teardown(() => learner.cleanup());

  // Promotion waits for the learner to catch up: etcdctl is retried while the leader says it is behind.
  for (const deadline = Date.now() + 4 * MIN_WAIT_MS; ;) {
    const promote = await ctl('member', 'promote', id!);
    if (promote.code === 0) {
      t.regex(promote.stdout, new RegExp(`Member\\s+${id} promoted in cluster`));
      break;
    }
    if (!visible(promote).includes(NOT_IN_SYNC) || Date.now() > deadline) {
      throw new Error(`promote: ${visible(promote)}\n${learner.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const afterPromote = await ctl('member', 'list');
  t.deepEqual(listed(afterPromote.stdout, url), [id, 'started', address, url, url, 'false']);
  t.is(afterPromote.stdout.trim().split('\n').length, 4);

  // The member's own URL again: accepted, nothing changes (another address: see MemberUpdate's row).
  const update = await ctl('member', 'update', id!, `--peer-urls=${url}`);
  t.regex(update.stdout, new RegExp(`Member\\s+${id} updated in cluster`), visible(update));

  const remove = await ctl('member', 'remove', id!);
  t.regex(remove.stdout, new RegExp(`Member\\s+${id} removed from cluster`), visible(remove));
  await learner.exited();
  const afterRemove = await ctl('member', 'list');
  t.is(listed(afterRemove.stdout, url), undefined);
  t.is(afterRemove.stdout.trim().split('\n').length, 3);
  t.regex(visible(await ctl('member', 'remove', id!)), /Error: etcdserver: member not found/);
});
