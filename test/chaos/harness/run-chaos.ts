/**
 * One chaos run: start a cluster behind link proxies, run the workload and watchers, check
 * the warm-up rate, inject faults, heal, crash-restart every member, wait for convergence,
 * then check linearizability, the committed revision history, monotonic revisions, watches
 * and hashes. A failing run saves its evidence under .chaos-runs/<timestamp>/.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/node-process.js';
import { isLeaseKey, type Op } from '../checker/history.js';
import { checkLinearizability, type LinearizabilityReport } from '../checker/linearizability.js';
import { checkLeases, describeLeases } from '../checker/lease-check.js';
import { checkAgainstRevisions, checkMonotonic, checkRealTimeOrder, RevisionHistory } from '../checker/revision-history.js';
import { checkWatcher } from '../checker/watch-check.js';
import { saveArtifacts } from './artifacts.js';
import { ClientPool } from './clients.js';
import { ChaosCluster } from './cluster.js';
import { compareHashes, finalReads, readCommittedHistory, waitConverged, waitLeasesEnded } from './convergence.js';
import { leaseKeyNames } from './lease-workload.js';
import { Nemesis, type NemesisEvent, type NemesisKind } from './nemesis.js';
import { Rng } from './rng.js';
import { ResilientWatcher } from './watchers.js';
import { Workload } from './workload.js';

export interface ChaosOptions {
  readonly members: number;
  readonly engine: 'rocksdb' | 'leveldb';
  /** Length of the fault phase. */
  readonly faultMs: number;
  readonly nemeses: readonly NemesisKind[];
  readonly seed: number;
  readonly clients?: number;
  readonly keys?: number;
  /** Keys written only with leases (default 4). */
  readonly leaseKeys?: number;
  readonly watchers?: number;
  /**
   * Faults start once this many operations completed ok (default 150), so a run cannot pass
   * by doing nothing. A count, not a rate: on a busy machine the warm-up just takes longer.
   */
  readonly warmupOkOps?: number;
  /** The run fails if the warm-up count is not reached within this long (default 60 s). */
  readonly warmupLimitMs?: number;
  readonly checkerTimeoutMs?: number;
  /** Where failing runs are saved; default <repo>/.chaos-runs. */
  readonly artifactsRoot?: string;
  readonly log?: (line: string) => void;
}

export interface ChaosSummary {
  readonly seed: number;
  readonly members: number;
  readonly engine: string;
  readonly nemeses: readonly string[];
  readonly ops: number;
  readonly outcomes: Record<string, number>;
  readonly byKind: Record<string, string>;
  /** Operations completed ok before the faults, and how long that took. */
  readonly warmupOkOps: number;
  readonly warmupMs: number;
  readonly faults: readonly NemesisEvent[];
  readonly finalRevision: number;
  readonly hashes: Record<string, string>;
  readonly linearizability: { verdict: string; ms: number; keys: string };
  readonly watchers: string;
  /** Leases granted, ended (from the committed history), revoked. */
  readonly leases: string;
  readonly wallMs: number;
}

export interface ChaosResult {
  readonly passed: boolean;
  readonly problems: readonly string[];
  readonly summary: ChaosSummary;
  readonly artifacts?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Bounds on waits that take a second or two on a quiet machine. Generous, since CI shares
 * two cores with other work (RELIABILITY.md 14): they only stop a run that is stuck.
 */
const CONVERGE_MS = 60_000;
const HISTORY_READ_MS = 60_000;
const WATCH_CATCH_UP_MS = 60_000;
/** Leases are granted for seconds; after the restart the leader waits an election timeout. */
const LEASES_END_MS = 60_000;

/** Children must not outlive us even if we exit abruptly (a test timeout, Ctrl-C). */
const liveClusters = new Set<ChaosCluster>();
process.once('exit', () => {
  for (const c of liveClusters) for (const m of [...c.members, ...c.departed]) if (m.running) m.child!.kill('SIGKILL');
});

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const wallStart = Date.now();
  const log = o.log ?? (() => undefined);
  const keys = Array.from({ length: o.keys ?? 8 }, (_, i) => `k${i}`);
  const leaseKeys = leaseKeyNames(o.leaseKeys ?? 4);
  const warmupOkOps = o.warmupOkOps ?? 150;
  const warmupLimitMs = o.warmupLimitMs ?? 60_000;
  const problems: string[] = [];
  const rng = new Rng(o.seed);
  const cluster = await ChaosCluster.create({
    members: o.members,
    engine: o.engine,
    // Small snapshot thresholds so restarts and lagging members exercise snapshot catch-up.
    args: [
      '--heartbeat-interval',
      '100',
      '--election-timeout',
      '1000',
      '--request-timeout',
      '1500',
      '--snapshot-count',
      '500',
      '--snapshot-catch-up-entries',
      '100',
      '--log-level',
      'info',
    ],
  });
  liveClusters.add(cluster);
  const addresses = new Map(cluster.members.map((m) => [m.name, m.address]));
  const control = new ClientPool(addresses);
  const watcherPool = new ClientPool(addresses);
  let history: Op[] = [];
  let workload: Workload | undefined;
  let watchers: ResilientWatcher[] = [];
  let lin: LinearizabilityReport | undefined;
  let nemesis: Nemesis | undefined;
  let warmup = { okOps: 0, ms: 0 };
  let finalRevision = 0;
  let hashes: Record<string, string> = {};
  let leaseSummary = 'not checked';
  let passed = false;
  try {
    await waitConverged(control, CONVERGE_MS);
    const t0 = process.hrtime.bigint();
    const startedAt = Date.now();
    workload = new Workload(
      addresses,
      { clients: o.clients ?? 12, keys: keys.length, leaseKeys: leaseKeys.length, opTimeoutMs: 2000, seed: o.seed },
      t0,
    );
    watchers = Array.from(
      { length: o.watchers ?? 3 },
      (_, i) => new ResilientWatcher(`watcher${i}`, watcherPool, new Rng(o.seed + 1000 + i), 5000),
    );
    workload.start();
    for (const w of watchers) w.start();

    const warmedUp = await workload.whenOkOps(warmupOkOps, warmupLimitMs);
    warmup = { okOps: workload.okOps, ms: Date.now() - startedAt };
    nemesis = new Nemesis(cluster, control, o.nemeses, rng, startedAt);
    if (!warmedUp)
      problems.push(
        `only ${warmup.okOps} ok ops in ${(warmup.ms / 1000).toFixed(1)} s before the faults (need ${warmupOkOps}): the run proves nothing`,
      );
    else {
      log(`warm-up: ${warmup.okOps} ok ops in ${(warmup.ms / 1000).toFixed(1)} s; faults for ${o.faultMs / 1000} s`);
      await nemesis.run(Date.now() + o.faultMs);
    }
    await workload.stop();
    history = workload.history;

    // Heal everything, then crash every member at once: acknowledged writes must be on disk.
    await cluster.healAll();
    await Promise.all(cluster.members.map((m) => m.kill()));
    await Promise.all(cluster.members.map((m) => m.start()));
    // Nobody renews any more: every lease must end, at a time the leader decides.
    const leasesWait = Date.now();
    const leases = await waitLeasesEnded(control, LEASES_END_MS);
    if (leases.left.length === 0 && leases.error === undefined)
      log(`every lease ended ${((Date.now() - leasesWait) / 1000).toFixed(1)} s after the restart`);
    if (leases.left.length > 0 || leases.error !== undefined)
      problems.push(
        `leases not ended ${LEASES_END_MS / 1000} s after the restart with no renewals: ${leases.left.length > 0 ? leases.left.join(', ') : leases.error}`,
      );
    const converged = await waitConverged(control, CONVERGE_MS);
    finalRevision = converged.revision;
    const compared = await compareHashes(control, converged.revision);
    hashes = compared.hashes;
    problems.push(...compared.problems);
    history = [...history, ...(await finalReads(control, [...keys, ...leaseKeys], t0, history.length))];
    const rh = new RevisionHistory(await readCommittedHistory(control, cluster.members[0]!.name, converged.revision, HISTORY_READ_MS));

    const watchDeadline = Date.now() + WATCH_CATCH_UP_MS;
    while (watchers.some((w) => w.lastRevision < converged.revision) && Date.now() < watchDeadline) await sleep(100);
    for (const w of watchers) {
      w.stop();
      if (w.lastRevision < converged.revision)
        problems.push(`${w.name} stopped at revision ${w.lastRevision}, the cluster is at ${converged.revision}`);
      problems.push(...w.problems, ...checkWatcher(w.log(), rh));
    }

    lin = checkLinearizability(history, { timeoutMs: o.checkerTimeoutMs ?? 60_000 });
    if (lin.verdict !== 'linearizable') problems.push(`linearizability: ${lin.verdict}\n${lin.explanation}`);
    problems.push(
      ...checkAgainstRevisions(history, rh),
      ...checkMonotonic(history),
      ...checkRealTimeOrder(history),
      ...checkLeases(history, rh, { allLeasesEnded: leases.left.length === 0 && leases.error === undefined }),
    );
    leaseSummary = describeLeases(history, rh);

    passed = problems.length === 0;
  } catch (err) {
    problems.push(`run aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    // A run that broke off (a member that would not restart) must still stop its clients:
    // left running, they would retry against dead ports for ever and keep the process alive.
    if (workload !== undefined) {
      await workload.stop().catch((err: unknown) => problems.push(`workload did not stop cleanly: ${String(err)}`));
      if (history.length === 0) history = workload.history;
    }
    for (const w of watchers) w.stop();
    control.close();
    watcherPool.close();
    await cluster.destroy();
    liveClusters.delete(cluster);
  }
  if (lin === undefined && history.length > 0) {
    // The run broke off (e.g. a member would not restart); still check what was recorded.
    lin = checkLinearizability(history, { timeoutMs: o.checkerTimeoutMs ?? 60_000 });
    if (lin.verdict !== 'linearizable') problems.push(`linearizability: ${lin.verdict}\n${lin.explanation}`);
  }
  const summary: ChaosSummary = {
    seed: o.seed,
    members: o.members,
    engine: o.engine,
    nemeses: o.nemeses,
    ...countOps(history),
    warmupOkOps: warmup.okOps,
    warmupMs: warmup.ms,
    faults: nemesis?.events ?? [],
    finalRevision,
    hashes,
    linearizability: lin
      ? { verdict: lin.verdict, ms: lin.ms, keys: lin.keys.map((k) => `${k.key}:${k.ops} ops/${k.result.steps} steps`).join(' ') }
      : { verdict: 'not run', ms: 0, keys: '' },
    watchers: watchers
      .map(
        (w) =>
          `${w.name}: ${w.batches.reduce((n, b) => n + b.events.length, 0)} events, ${w.progress.length} progress notifications, ${w.reconnects} reconnects (${[...w.reasons].map(([why, n]) => `${n} ${why}`).join(', ')})`,
      )
      .join('; '),
    leases: leaseSummary,
    wallMs: Date.now() - wallStart,
  };
  let artifacts: string | undefined;
  if (!passed) {
    artifacts = await saveArtifacts(
      o.artifactsRoot ?? join(REPO_ROOT, '.chaos-runs'),
      cluster,
      history,
      watchers.map((w) => w.log()),
      { ...summary, problems },
    );
  }
  await rm(cluster.dir, { recursive: true, force: true });
  return { passed, problems, summary, ...(artifacts === undefined ? {} : { artifacts }) };
}

function countOps(history: readonly Op[]): Pick<ChaosSummary, 'ops' | 'outcomes' | 'byKind'> {
  const outcomes: Record<string, number> = { ok: 0, failed: 0, unknown: 0 };
  const kinds = new Map<string, Record<string, number>>();
  for (const op of history) {
    outcomes[op.outcome] = (outcomes[op.outcome] ?? 0) + 1;
    const c = op.call;
    const kind = c.f === 'get' ? `${c.serializable ? 'stale-' : ''}${isLeaseKey(c.key) ? 'lget' : 'get'}` : c.f;
    const k = kinds.get(kind) ?? { ok: 0, failed: 0, unknown: 0 };
    k[op.outcome] = (k[op.outcome] ?? 0) + 1;
    kinds.set(kind, k);
  }
  const byKind: Record<string, string> = {};
  for (const [kind, k] of kinds) byKind[kind] = `${k.ok} ok/${k.failed} failed/${k.unknown} unknown`;
  return { ops: history.length, outcomes, byKind };
}

/** "12345 ops: 80.1% ok, 5.0% failed, 14.9% unknown". */
export function describeOutcomes(s: ChaosSummary): string {
  const pct = (n: number | undefined): string => `${(((n ?? 0) / Math.max(1, s.ops)) * 100).toFixed(1)}%`;
  return `${s.ops} ops: ${pct(s.outcomes['ok'])} ok, ${pct(s.outcomes['failed'])} failed, ${pct(s.outcomes['unknown'])} unknown`;
}
