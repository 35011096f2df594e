/**
 * Runs a real Prometheus (Debian's package; scripts/install-observability-deps.sh installs
 * it) for a test: its own generated config scraping the given targets every
 * `scrapeIntervalS` seconds, a free port, a temporary storage dir, started and stopped by
 * PID. Queries go through its HTTP API.
 *
 *   const prom = await startPrometheus(['127.0.0.1:9101', ...]);
 *   const v = await prom.query('sum(cairn_raft_term)');   // instant vector
 *   await prom.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cluster-process.js';

export interface PrometheusProcess {
  readonly url: string;
  readonly pid: number;
  /** An instant query; one sample per series, with its labels. */
  query(expr: string): Promise<{ labels: Record<string, string>; value: number }[]>;
  output(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

/** The prometheus binary, or an error saying how to install it (no silent skip). */
export function prometheusBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '')
    throw new Error('prometheus is not installed: run scripts/install-observability-deps.sh (npm test does)');
  return path;
}

export async function startPrometheus(targets: readonly string[], scrapeIntervalS = 1): Promise<PrometheusProcess> {
  const binary = prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'cairn-prometheus-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      `  scrape_interval: ${scrapeIntervalS}s`,
      `  scrape_timeout: ${scrapeIntervalS}s`,
      'scrape_configs:',
      '  - job_name: cairn',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const log: string[] = [];
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.setEncoding('utf8').on('data', (c: string) => log.push(c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => log.push(c));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited (${child.exitCode}) before it was ready:\n${log.join('')}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within ${READY_TIMEOUT_MS} ms:\n${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    pid: child.pid!,
    output: () => log.join(''),
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success' || body.data === undefined)
        throw new Error(`prometheus query '${expr}' failed: ${body.error ?? res.status}`);
      return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
    stop,
  };
}
