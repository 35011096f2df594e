/**
 * The operator's way back for a member refused for damaged storage (issue 11): in a
 * three-member cluster, one follower's engine log is truncated while it is down. It refuses
 * to start; started with --discard-local-data-and-rejoin it wipes its data, receives a
 * snapshot from the leader, and ends with the others' hash and every acknowledged write.
 */
import test from 'ava';
import { startClusterProcesses } from '../helpers/cluster-process.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { MIN_WAIT_MS, waitUntil } from '../helpers/wait.js';
import { acknowledgedPuts, engineFiles, readAll, truncateTo } from '../storage/damage-helpers.js';

test('a damaged member refuses to start, and rejoins by the operator action with the others hash', async (t) => {
  // Frequent log compaction, so that the rejoining member must be sent a snapshot.
  const cluster = await startClusterProcesses(3, ['--snapshot-count', '50', '--snapshot-catch-up-entries', '10', '--log-level', 'warn']);
  t.teardown(() => cluster.cleanup());
  const leaderName = await cluster.waitForLeader();
  const leader = cluster.member(leaderName);
  const victim = cluster.members.find((m) => m.name !== leaderName)!;
  const acks = await acknowledgedPuts(leader.address, 'before', 300);
  await cluster.waitForConvergence();

  await victim.process.stop();
  const [log] = await engineFiles(victim.process.dataDir, 'rocksdb', '.log');
  await truncateTo(log!, 0.3);
  acks.push(...(await acknowledgedPuts(leader.address, 'while-down', 100)));

  const initialCluster = cluster.members.map((m) => `${m.name}=${m.address}`).join(',');
  const args = ['--name', victim.name, '--initial-cluster', initialCluster, '--log-level', 'info'];
  const refused = await t.throwsAsync(startNodeProcess({ dataDir: victim.process.dataDir, listen: victim.address, args }));
  t.regex(refused?.message ?? '', /lost writes it had synced.*--discard-local-data-and-rejoin/s);

  const rejoined = await startNodeProcess({
    dataDir: victim.process.dataDir,
    listen: victim.address,
    args: [...args, '--discard-local-data-and-rejoin'],
  });
  t.teardown(() => rejoined.stop());
  acks.push(...(await acknowledgedPuts(leader.address, 'after', 100)));
  const statuses = await cluster.waitForConvergence(60_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- rejoined member ---\n${rejoined.output()}`);
  });
  const revision = Math.min(...statuses.map((s) => s.header!.revision));
  const hashes = await Promise.all(cluster.members.map((m) => m.hashKv(revision)));
  t.deepEqual(
    hashes.map((h) => h.hash),
    hashes.map(() => hashes[0]!.hash),
    `members differ at revision ${revision}`,
  );
  const stored = await readAll(victim.address);
  const missing = acks.filter((a) => stored.get(a.key) !== a.value);
  t.is(missing.length, 0, `the rejoined member lacks ${missing.length} acknowledged writes`);
  t.regex(rejoined.output(), /discarded the local data; rejoining/);
  // The member declares itself caught up on its own schedule (after a settling delay, on the
  // next message from the leader), so that line can come after the data converged: wait for it.
  await waitUntil(
    () => /caught up with the leader after rejoining/.test(rejoined.output()),
    MIN_WAIT_MS,
    () => `the rejoined member never said it caught up:\n${rejoined.output()}`,
  );
  t.regex(rejoined.output(), /caught up with the leader after rejoining/);
});
