/**
 * Runs a real Jaeger (the all-in-one binary built by scripts/install-observability-deps.sh
 * into $(go env GOPATH)/bin) for a test: a generated config with an OTLP/HTTP receiver and
 * the query service on free loopback ports, in-memory storage, started and stopped by PID.
 * Traces are read back through the query service's HTTP API.
 *
 *   const jaeger = await startJaeger();
 *   process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpEndpoint;
 *   const trace = await jaeger.trace(traceId);
 *   await jaeger.stop();
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cluster-process.js';

/** A span as Jaeger's query API returns it, with its service (and member) resolved. */
export interface JaegerSpan {
  readonly spanID: string;
  readonly operationName: string;
  /** The parent span's id (a CHILD_OF reference), if any. */
  readonly parent: string | undefined;
  /** Span ids this span links to (FOLLOWS_FROM references other than the parent). */
  readonly links: string[];
  readonly service: string;
  /** The `service.instance.id` of its process (a Cairn member's name). */
  readonly instance: string | undefined;
  readonly tags: Record<string, unknown>;
}

export interface JaegerProcess {
  /** OTEL_EXPORTER_OTLP_ENDPOINT for exporters (OTLP over HTTP). */
  readonly otlpEndpoint: string;
  readonly queryUrl: string;
  /** The spans of one trace, or [] while Jaeger has none of it. */
  trace(traceId: string): Promise<JaegerSpan[]>;
  /** Recent traces (up to 50) holding a span of `operation` by `service`, each as its spans. */
  search(operation: string, service?: string): Promise<JaegerSpan[][]>;
  output(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

/** The jaeger binary, or an error saying how to install it (no silent skip). */
export function jaegerBinary(): string {
  const gopath = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).stdout.trim();
  const path = join(gopath, 'bin', 'jaeger');
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/install-observability-deps.sh (npm test does)`);
  return path;
}

export async function startJaeger(): Promise<JaegerProcess> {
  const binary = jaegerBinary();
  const dir = await mkdtemp(join(tmpdir(), 'cairn-jaeger-'));
  const [otlp, query, queryGrpc] = await Promise.all([freePort(), freePort(), freePort()]);
  const config = join(dir, 'jaeger.yaml');
  await writeFile(
    config,
    `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${query}
    grpc:
      endpoint: 127.0.0.1:${queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`,
  );
  const log: string[] = [];
  const child = spawn(binary, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (c: string) => log.push(c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => log.push(c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const queryUrl = `http://127.0.0.1:${query}`;
  const otlpEndpoint = `http://127.0.0.1:${otlp}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`jaeger exited (${child.exitCode}) before it was ready:\n${log.join('')}`);
    }
    const up = await Promise.all([
      fetch(`${queryUrl}/api/services`).then(
        (r) => r.ok,
        () => false,
      ),
      // The OTLP receiver answers a GET with 405: it is listening.
      fetch(`${otlpEndpoint}/v1/traces`).then(
        () => true,
        () => false,
      ),
    ]);
    if (up.every(Boolean)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jaeger not ready within ${READY_TIMEOUT_MS} ms:\n${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    otlpEndpoint,
    queryUrl,
    output: () => log.join(''),
    stop,
    async trace(traceId) {
      const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
      if (res.status === 404) return [];
      return parseTraces(await res.json())[0] ?? [];
    },
    async search(operation, service = 'cairn') {
      const query = new URLSearchParams({ service, operation, limit: '50', lookback: '1h' });
      const res = await fetch(`${queryUrl}/api/traces?${query.toString()}`);
      if (!res.ok) return [];
      return parseTraces(await res.json());
    },
  };
}

interface JaegerTraces {
  data?: {
    spans: {
      spanID: string;
      operationName: string;
      references?: { refType: string; spanID: string }[];
      processID: string;
      tags?: { key: string; value: unknown }[];
    }[];
    processes: Record<string, { serviceName: string; tags?: { key: string; value: unknown }[] }>;
  }[];
}

/** Jaeger's answer (one trace or a search) as our spans, one array per trace. */
function parseTraces(body: unknown): JaegerSpan[][] {
  return ((body as JaegerTraces).data ?? []).map((data) =>
    data.spans.map((s) => {
      const process = data.processes[s.processID];
      const refs = s.references ?? [];
      const parent = refs.find((r) => r.refType === 'CHILD_OF')?.spanID;
      return {
        spanID: s.spanID,
        operationName: s.operationName,
        parent,
        links: refs.filter((r) => r.spanID !== parent).map((r) => r.spanID),
        service: process?.serviceName ?? '?',
        instance: process?.tags?.find((t) => t.key === 'service.instance.id')?.value as string | undefined,
        tags: Object.fromEntries((s.tags ?? []).map((t) => [t.key, t.value])),
      };
    }),
  );
}
