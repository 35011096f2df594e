/**
 * A real Prometheus scrapes a three-member cluster of real processes (each with its own
 * --metrics-listen port) during a write load; through Prometheus's HTTP API the request
 * counters, the commit-latency histogram and every member's fsync histogram must move.
 * Then /readyz: a member cut off from the majority (the other two killed) turns unready,
 * and ready again once they are back.
 */
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { KVServiceClient, PutRequest, type PutResponse } from '../../gen/ts/cairn/v1/kv.js';
import { freePort, startClusterProcesses } from '../helpers/cluster-process.js';
import { startPrometheus, type PrometheusProcess } from '../helpers/prometheus-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

const PUTS = 120;
const CONCURRENCY = 4;

function put(client: KVServiceClient, key: string): Promise<PutResponse> {
  const req = PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from('v') });
  return new Promise((resolve, reject) =>
    client.put(req, new Metadata(), { deadline: Date.now() + 30_000 }, (err: ServiceError | null, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

/** Polls until `check` returns a value (not undefined); fails after the bound with `what`. */
async function eventually<T>(what: () => string, check: () => Promise<T | undefined>, timeoutMs = MIN_WAIT_MS * 2): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One number per member (by the `member` label every Cairn metric carries). */
async function byMember(prom: PrometheusProcess, expr: string): Promise<Map<string, number>> {
  return new Map((await prom.query(expr)).map((s) => [s.labels.member ?? '?', s.value]));
}

async function scalar(prom: PrometheusProcess, expr: string): Promise<number | undefined> {
  const [first] = await prom.query(expr);
  return first?.value;
}

async function readyz(address: string): Promise<number> {
  return fetch(`http://${address}/readyz`).then(
    (r) => r.status,
    () => 0,
  );
}

test('Prometheus sees requests, commit latency and fsync latency move; /readyz follows the majority', async (t) => {
  const metricsPorts = await Promise.all([0, 1, 2].map(() => freePort()));
  const metricsAddresses = metricsPorts.map((p) => `127.0.0.1:${p}`);
  const cluster = await startClusterProcesses(3, [], { memberArgs: (_name, i) => ['--metrics-listen', metricsAddresses[i]!] });
  let prom: PrometheusProcess | undefined;
  const clients: KVServiceClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await prom?.stop();
    await cluster.cleanup();
  });
  const leader = await cluster.waitForLeader();
  prom = await startPrometheus(metricsAddresses);
  const p = prom;
  const names = cluster.members.map((m) => m.name);

  // Every member scraped, and its fsync count before the load (elections wrote the log).
  const fsyncBefore = await eventually(
    () => `all three targets up in Prometheus\n${p.output()}`,
    async () => {
      const fsyncs = await byMember(p, 'cairn_raft_log_fsync_duration_seconds_count');
      return (await scalar(p, 'sum(up{job="cairn"})')) === 3 && fsyncs.size === 3 ? fsyncs : undefined;
    },
  );

  // The load: puts spread over all members, so followers forward to the leader too.
  for (const m of cluster.members) clients.push(new KVServiceClient(m.address, credentials.createInsecure()));
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < PUTS; i = next++) await put(clients[i % clients.length]!, `load/${i}`);
    }),
  );

  const puts = await eventually(
    () => `Prometheus to count ${PUTS} successful Puts`,
    async () => {
      const v = await scalar(p, 'sum(cairn_grpc_server_handled_total{grpc_service="cairn.v1.KVService",grpc_method="Put",grpc_code="OK"})');
      return v !== undefined && v >= PUTS ? v : undefined;
    },
  );
  t.is(puts, PUTS, 'each Put counted once, on the member that took it');
  const perMember = await byMember(p, 'cairn_grpc_server_started_total{grpc_method="Put"}');
  t.deepEqual([...perMember.keys()].sort(), [...names].sort(), 'every member took Puts');

  const committed = await eventually(
    () => 'the commit-latency histogram to count every Put',
    async () => {
      const v = await scalar(p, 'sum(cairn_raft_commit_duration_seconds_count)');
      return v !== undefined && v >= PUTS ? v : undefined;
    },
  );
  t.is(committed, PUTS);
  const inf = await scalar(p, 'sum(cairn_raft_commit_duration_seconds_bucket{le="+Inf"})');
  t.is(inf, PUTS, 'the +Inf bucket holds every observation');
  const p99 = await eventually(
    () => 'a p99 commit latency from the histogram',
    async () => {
      const v = await scalar(p, 'histogram_quantile(0.99, sum by (le) (rate(cairn_raft_commit_duration_seconds_bucket[1m])))');
      return v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
    },
  );
  t.log(`p99 commit latency per Prometheus: ${(p99 * 1000).toFixed(1)} ms`);

  // Every member fsynced the new entries: the leader its own appends, followers theirs.
  await eventually(
    () => `every member's fsync histogram to move past ${JSON.stringify([...fsyncBefore])}`,
    async () => {
      const now = await byMember(p, 'cairn_raft_log_fsync_duration_seconds_count');
      return names.every((n) => (now.get(n) ?? 0) > (fsyncBefore.get(n) ?? Infinity)) ? now : undefined;
    },
  );
  const batch = await scalar(p, 'sum(cairn_raft_log_fsync_batch_entries_sum)');
  t.true(batch !== undefined && batch >= PUTS, `entries fsynced on all members (${batch}) cover the Puts`);
  const revisions = await byMember(p, 'cairn_mvcc_revision');
  t.true(
    names.every((n) => (revisions.get(n) ?? 0) >= 1),
    `store revisions scraped: ${JSON.stringify([...revisions])}`,
  );

  // Readiness: all ready; a follower alone loses its leader and turns unready; healing heals.
  for (const address of metricsAddresses) t.is(await readyz(address), 200, `${address} ready`);
  const loneIndex = names.findIndex((n) => n !== leader);
  const lone = cluster.members[loneIndex]!;
  const others = cluster.members.filter((m) => m !== lone);
  for (const m of others) await m.process.kill();
  await eventually(
    () => `/readyz on ${lone.name} to answer 503 once cut off from the majority`,
    async () => ((await readyz(metricsAddresses[loneIndex]!)) === 503 ? true : undefined),
  );
  t.is(await fetch(`http://${metricsAddresses[loneIndex]!}/healthz`).then((r) => r.status), 200, 'still alive');
  await eventually(
    () => `Prometheus to see ${lone.name} without a leader`,
    async () => ((await scalar(p, `cairn_raft_has_leader{member="${lone.name}"}`)) === 0 ? true : undefined),
  );
  for (const m of others) await m.process.restart();
  await eventually(
    () => `/readyz on ${lone.name} to answer 200 after healing\n${cluster.logs()}`,
    async () => ((await readyz(metricsAddresses[loneIndex]!)) === 200 ? true : undefined),
  );
  t.pass();
});
