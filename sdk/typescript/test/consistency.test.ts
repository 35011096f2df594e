/**
 * Stale and linearizable reads on a member cut off from the others (the other two are
 * SIGSTOPped): the stale read answers from local data; the linearizable one fails.
 */
import test from 'ava';
import { startClusterProcesses } from '../../../test/helpers/cluster-process.js';
import { CairnClient, CairnError } from '../src/index.js';

test('a cut-off member serves stale reads from its own data but never a stale linearizable or over-bound read', async (t) => {
  const cluster = await startClusterProcesses(3, ['--request-timeout', '1500']);
  const paused: number[] = [];
  t.teardown(async () => {
    for (const pid of paused) process.kill(pid, 'SIGCONT');
    await cluster.cleanup();
  });
  const leader = await cluster.waitForLeader();
  const isolated = cluster.members.find((m) => m.name !== leader)!;
  // Pinned to one member (no discovery) so that no retry can reach another one.
  const pinned = new CairnClient({ endpoints: [isolated.address], discover: false, callTimeoutMs: 2500 });
  t.teardown(() => pinned.close());

  await pinned.put('k', 'v1');
  t.is((await pinned.get('k'))?.valueString, 'v1', 'a linearizable read: the member has applied v1');
  for (const m of cluster.members.filter((m) => m !== isolated)) {
    process.kill(m.process.pid, 'SIGSTOP');
    paused.push(m.process.pid);
  }

  const stale = await pinned.get('k', { consistency: 'stale' });
  t.is(stale?.valueString, 'v1', 'a stale read answers from local data');

  const linearizable = await t.throwsAsync(pinned.get('k'), { instanceOf: CairnError }, 'a linearizable read without a quorum must fail');
  t.true(linearizable?.codeName === 'UNAVAILABLE' || linearizable?.codeName === 'DEADLINE_EXCEEDED', linearizable?.message);

  // Long past the bound since the leader was last heard: the server reads linearizably, and fails.
  await new Promise((r) => setTimeout(r, 600));
  await t.throwsAsync(pinned.get('k', { maxStalenessMs: 300 }), { instanceOf: CairnError });

  for (const pid of paused.splice(0)) process.kill(pid, 'SIGCONT');
  await cluster.waitForLeader();
  const other = new CairnClient({ endpoints: cluster.members.filter((m) => m !== isolated).map((m) => m.address) });
  t.teardown(() => other.close());
  const v2 = await other.put('k', 'v2');
  // Back in touch with the leader, a bounded stale read catches up to v2.
  let seen: bigint | undefined;
  for (let i = 0; i < 100 && seen !== v2.revision; i++) {
    seen = (await pinned.get('k', { maxStalenessMs: 2000 }))?.modRevision;
    if (seen !== v2.revision) await new Promise((r) => setTimeout(r, 20));
  }
  t.is(seen, v2.revision);
});
