/**
 * Recipes across real process failures: a lock holder paused past its TTL is fenced off,
 * an election keeps at most one leader across leader kills (judged from the observers'
 * streams), a killed service leaves `discover`, and the ephemeral /config example.
 * Sessions use a short TTL so that expiries come quickly.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startClusterProcesses, type ClusterProcesses } from '../../../test/helpers/cluster-process.js';
import { REPO_ROOT } from '../../../test/helpers/node-process.js';
import { MIN_WAIT_MS, waitUntil } from '../../../test/helpers/wait.js';
import { CairnClient, type KeyValue, type ServiceChange } from '../src/index.js';
import { startWorker, type Worker } from './fixtures/worker-process.js';

/** Session TTL in seconds: above the members' minimum (1.5 election timeouts, rounded up). */
const TTL = 3;
const ELECTION_TIMEOUT_MS = 1000;

async function cluster3(t: { teardown(fn: () => Promise<void>): void }): Promise<ClusterProcesses> {
  const cluster = await startClusterProcesses(3, ['--request-timeout', '2000', '--election-timeout', String(ELECTION_TIMEOUT_MS)]);
  t.teardown(() => cluster.cleanup());
  await cluster.waitForLeader();
  return cluster;
}

function clientOf(cluster: ClusterProcesses, t: { teardown(fn: () => void): void }, rotate = 0): CairnClient {
  const endpoints = [...cluster.endpoints.slice(rotate), ...cluster.endpoints.slice(0, rotate)];
  const client = new CairnClient({ endpoints, callTimeoutMs: 15_000 });
  t.teardown(() => client.close());
  return client;
}

function workers(t: { teardown(fn: () => Promise<void>): void }): (endpoints: string[], args: string[]) => Worker {
  const started: Worker[] = [];
  t.teardown(async () => {
    for (const w of started) await w.kill();
  });
  return (endpoints, args) => {
    const w = startWorker(endpoints, args);
    started.push(w);
    return w;
  };
}

test.serial(
  'a lock holder paused past its TTL loses the lock: the next holder has a higher token, the paused one’s fenced write is refused',
  async (t) => {
    const cluster = await cluster3(t);
    const client = clientOf(cluster, t);
    const start = workers(t);
    const a = start(cluster.endpoints, ['lock', 'fenced', String(TTL)]);
    const aLocked = await a.waitFor((e) => e.event === 'locked');
    a.signal('SIGSTOP');

    const b = start(cluster.endpoints, ['lock', 'fenced', String(TTL)]);
    const bLocked = await b.waitFor((e) => e.event === 'locked');
    t.true(BigInt(bLocked['token'] as string) > BigInt(aLocked['token'] as string), 'fencing tokens only grow');
    b.send('write fenced-data b');
    t.true((await b.waitFor((e) => e.event === 'write'))['succeeded']);

    // The paused holder wakes up still believing it holds the lock, and writes.
    a.signal('SIGCONT');
    a.send('write fenced-data a');
    t.false((await a.waitFor((e) => e.event === 'write'))['succeeded'], 'the write guarded by the stale token is refused');
    await a.waitFor((e) => e.event === 'lost');
    t.is((await client.get('fenced-data'))?.valueString, 'b');
  },
);

interface Observed {
  key: string;
  value: string;
  createRevision: bigint;
}

/** Follows the election from one client and records every leader (and value) it reports. */
function observe(client: CairnClient, name: string, signal: AbortSignal): { seen: Observed[]; done: Promise<void> } {
  const seen: Observed[] = [];
  const done = (async () => {
    for await (const kv of client.observeLeader(name, { signal })) seen.push(observed(kv));
  })();
  return { seen, done };
}

/** JSON for messages; revisions are bigints, which JSON.stringify refuses. */
function json(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function observed(kv: KeyValue): Observed {
  return { key: kv.keyString, value: kv.valueString, createRevision: kv.createRevision };
}

function electedKeys(w: Worker): string[] {
  return w.events.filter((e) => e.event === 'elected').map((e) => e['key'] as string);
}

/** What the store holds for an election, with each key's lease TTL: for failure messages. */
async function electionState(client: CairnClient, name: string): Promise<string> {
  try {
    const r = await client.range({ prefix: `${name}/` });
    const keys = await Promise.all(
      r.kvs.map(async (kv) => ({
        ...observed(kv),
        lease: kv.lease,
        ttl: await client.lease.timeToLive(kv.lease).catch((e: unknown) => String(e)),
      })),
    );
    return `at revision ${r.revision}: ${json(keys)}`;
  } catch (err) {
    return `could not read ${name}/: ${String(err)}`;
  }
}

/** The leaders in the order they led (consecutive reports of one leader collapsed). */
function leaderRuns(seen: Observed[]): Observed[] {
  return seen.filter((o, i) => i === 0 || seen[i - 1]!.key !== o.key);
}

test.serial('across three leader kills an election has at most one leader at a time, as its observers see it', async (t) => {
  const cluster = await cluster3(t);
  const stop = new AbortController();
  const observers = [
    observe(clientOf(cluster, t, 0), 'scheduler', stop.signal),
    observe(clientOf(cluster, t, 1), 'scheduler', stop.signal),
  ];
  const start = workers(t);
  const campaigners = [1, 2, 3].map((n) => start(cluster.endpoints, ['campaign', 'scheduler', `c${n}`, String(TTL)]));
  let next = 4;
  const current = (): Observed | undefined => observers[0]!.seen.at(-1);
  await waitUntil(() => current() !== undefined, MIN_WAIT_MS, 'no leader elected');

  for (let round = 1; round <= 3; round++) {
    // Kill the cluster's leader and, to make the election move, the process that leads it.
    const raftLeader = cluster.member(await cluster.waitForLeader());
    await raftLeader.process.kill();
    const leading = current()!;
    const leaderProcess = campaigners.find((w) => w.events.some((e) => e.event === 'campaigning' && e['key'] === leading.key));
    t.truthy(leaderProcess, `a campaigner owns ${leading.key}`);
    await leaderProcess!.kill();
    campaigners.push(start(cluster.endpoints, ['campaign', 'scheduler', `c${next++}`, String(TTL)]));
    await waitUntil(
      () => observers.every((o) => o.seen.length > 0 && o.seen.at(-1)!.key !== leading.key),
      MIN_WAIT_MS,
      () => `round ${round}: the leadership did not move from ${leading.key}: ${json(observers.map((o) => o.seen.slice(-3)))}`,
    ).catch(async (err: unknown) => {
      t.log(await electionState(clientOf(cluster, t, 2), 'scheduler'));
      for (const w of campaigners) t.log(`campaigner pid ${w.child.pid}: ${json(w.events.slice(-6))} ${w.stderr().slice(-2000)}`);
      t.log(cluster.logs());
      throw err;
    });
    await raftLeader.process.restart();
    await cluster.waitForLeader();
  }
  // Freeze the campaigners: what they reported is now final. Every value a campaigner
  // published while it believed it led must reach the observers, under its own key; a
  // campaigner that acted as leader while another led would publish values no observer
  // ever sees as the leader's.
  for (const w of campaigners) w.signal('SIGSTOP');
  const published = campaigners.flatMap((w) =>
    w.events.filter((e) => e.event === 'proclaimed').map((e) => ({ value: e['value'] as string, keys: electedKeys(w) })),
  );
  t.true(published.length > 0);
  await waitUntil(
    () => published.every((p) => observers.every((o) => o.seen.some((s) => s.value === p.value))),
    MIN_WAIT_MS,
    () =>
      `published but never seen as the leader's: ${JSON.stringify(published.filter((p) => !observers[0]!.seen.some((s) => s.value === p.value)))}`,
  );
  stop.abort();
  await Promise.all(observers.map((o) => o.done));
  for (const p of published) {
    const seen = observers[0]!.seen.find((s) => s.value === p.value)!;
    t.true(p.keys.includes(seen.key), `${p.value} was published under its campaigner's own key`);
  }

  for (const [i, o] of observers.entries()) {
    const runs = leaderRuns(o.seen);
    // One leader at a time: once the next leader is seen, the previous one never acts again.
    t.is(new Set(runs.map((r) => r.key)).size, runs.length, `observer ${i}: a leader came back after another led: ${json(runs)}`);
    for (let r = 1; r < runs.length; r++) t.true(runs[r]!.createRevision > runs[r - 1]!.createRevision, 'leaders queue in order');
    t.true(runs.length >= 4, `observer ${i} saw the leadership move three times`);
  }
  // Both observers saw the same history, from the point where both were watching.
  const keys = observers.map((o) => leaderRuns(o.seen).map((r) => r.key));
  const common = keys[0]!.filter((k) => keys[1]!.includes(k));
  t.deepEqual(
    common,
    keys[1]!.filter((k) => keys[0]!.includes(k)),
  );
});

test.serial('a registered service killed with SIGKILL leaves discover within TTL + one election timeout', async (t) => {
  const cluster = await cluster3(t);
  const client = clientOf(cluster, t);
  const discovery = await client.discover('services/api/');
  const changes: (ServiceChange & { at: number })[] = [];
  void (async () => {
    for await (const c of discovery.changes) changes.push({ ...c, at: Date.now() });
  })();
  t.teardown(() => void discovery.changes.return());

  const service = workers(t)(cluster.endpoints, ['register', 'services/api/w1', '10.0.0.1:80', String(TTL)]);
  await service.waitFor((e) => e.event === 'registered');
  await waitUntil(() => changes.some((c) => c.type === 'join' && c.key === 'services/api/w1'), MIN_WAIT_MS, 'no join');
  const killedAt = Date.now();
  await service.kill();
  await waitUntil(() => changes.some((c) => c.type === 'leave'), MIN_WAIT_MS, 'the service never left');
  const left = changes.find((c) => c.type === 'leave')!;
  t.is(left.key, 'services/api/w1');
  const after = left.at - killedAt;
  t.log(`left ${after} ms after the kill (TTL ${TTL} s)`);
  t.true(after <= TTL * 1000 + ELECTION_TIMEOUT_MS, `left ${after} ms after the kill`);
  t.false((await client.discover('services/api/')).services.has('services/api/w1'));
});

/** A process whose stdout lines a test can wait for. */
function lines(args: string[], env: Record<string, string>, t: { teardown(fn: () => void): void }) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  return {
    child,
    waitFor: (pattern: RegExp) =>
      waitUntil(
        () => pattern.test(out),
        MIN_WAIT_MS,
        () => `no ${pattern} in:\n${out}\n${err}`,
      ),
    output: () => out,
  };
}

test.serial(
  'the ephemeral /config example: the watcher prints each version, then the key’s disappearance when the publisher is killed',
  async (t) => {
    const cluster = await cluster3(t);
    const env = { CAIRN_ENDPOINTS: cluster.endpoints.join(','), CONFIG_TTL: String(TTL) };
    const example = join(REPO_ROOT, 'sdk/typescript/examples/ephemeral-config.ts');
    const watcher = lines([example, 'watch'], env, t);
    await watcher.waitFor(/^config: \(gone\) at revision \d+\n/);
    const publisher = lines([example, 'publish'], env, t);
    await watcher.waitFor(/config: \{"version":1,/);
    await watcher.waitFor(/config: \{"version":2,/);
    publisher.child.kill('SIGKILL');
    await watcher.waitFor(/config: \{"version":2,.*\n(config: \{"version":\d+,.*\n)*config: \(gone\) at revision \d+\n$/);
    t.regex(publisher.output(), /^published \/config \{"version":1,/);
  },
);
