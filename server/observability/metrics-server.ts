/**
 * The member's plain-HTTP side port (`--metrics-listen`), apart from the gRPC port as
 * etcd's --listen-metrics-urls: Prometheus scrapes it and load balancers or Kubernetes
 * probe it without speaking gRPC, and it keeps answering while the gRPC port is saturated.
 *
 *   GET /metrics  Prometheus text format (the member's registry)
 *   GET /healthz  200 while the process serves HTTP at all (liveness)
 *   GET /readyz   200 when the member can serve requests, else 503 with the reason (readiness)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { CairnMetrics } from './metrics.js';

export interface Readiness {
  readonly ready: boolean;
  /** Why not (or a short summary when ready), for the probe's body and logs. */
  readonly reason: string;
}

export interface MetricsServer {
  /** host:port actually bound (port 0 picks a free one). */
  readonly address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(listen: string, metrics: CairnMetrics, readiness: () => Readiness): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    handle(req, res, metrics, readiness).catch((err: unknown) => reply(res, 500, `metrics failed: ${(err as Error).message}\n`));
  });
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon);
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--metrics-listen must be host:port, got '${listen}'`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const address = `${host}:${typeof bound === 'object' && bound !== null ? bound.port : port}`;
  return { address, close: () => closeServer(server) };
}

async function handle(req: IncomingMessage, res: ServerResponse, metrics: CairnMetrics, readiness: () => Readiness): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'only GET\n');
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics':
      return reply(res, 200, await metrics.metrics(), metrics.contentType);
    case '/healthz':
      return reply(res, 200, 'ok\n');
    case '/readyz': {
      const r = readiness();
      return reply(res, r.ready ? 200 : 503, `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
    }
    default:
      return reply(res, 404, 'not found; try /metrics, /healthz or /readyz\n');
  }
}

function reply(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Scrapers keep connections alive; without this close() would wait for them to idle out.
    server.closeAllConnections();
  });
}
