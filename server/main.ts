import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ResponseHeader } from '../gen/ts/cairn/v1/types.js';
import { buildGrpcServer, bind } from './api/grpc-server.js';
import { kvService } from './api/kv-service.js';
import { RequestValidator } from './api/validate.js';
import { watchService } from './api/watch-service.js';
import { Applier } from './apply/applier.js';
import { LocalWriter } from './apply/local-writer.js';
import type { NodeOptions } from './config.js';
import { MvccStore } from './mvcc/kv-store.js';
import { WatchHub } from './mvcc/watch-hub.js';
import { loadIdentity } from './node-identity.js';
import { createLogger } from './observability/logging.js';
import { openEngine } from './storage/open-engine.js';

export interface RunningNode {
  /** host:port actually bound (so that --listen with port 0 can be used in tests). */
  readonly address: string;
  readonly memberId: number;
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 5_000;

/**
 * The composition root of a single node: storage, MVCC store, write path, watch hub and
 * the gRPC server, wired once here. close() stops accepting calls, lets in-flight writes
 * finish, and closes the database.
 */
export async function startNode(options: NodeOptions, logger: Logger = createLogger(options.logLevel)): Promise<RunningNode> {
  await mkdir(options.dataDir, { recursive: true });
  const identity = await loadIdentity(options.dataDir);
  const engine = await openEngine(options.engine, options.dataDir);
  const store = await MvccStore.open(engine);
  const header = (revision: number): ResponseHeader => ({ clusterId: identity.clusterId, memberId: identity.memberId, revision, raftTerm: 0 });

  const onFatal = (err: unknown): void => {
    // The disk can't be trusted after a failed synced write: stop rather than serve.
    logger.fatal({ err }, 'storage write failed; stopping the node');
    process.exit(1);
  };
  const writes = new LocalWriter(store, new Applier(header), onFatal);
  const hub = new WatchHub(store, options.limits, logger);
  const validator = new RequestValidator(options.limits);

  const watch = watchService({ store, hub, limits: options.limits, validator, header, logger, progressIntervalMs: options.watchProgressIntervalMs });
  const { server, health } = buildGrpcServer(
    {
      kv: kvService({ store, writes, validator, header, logger, linearizableReadBarrier: () => Promise.resolve() }),
      watch: watch.service,
    },
    options.limits,
  );
  let port: number;
  try {
    port = await bind(server, options.listen);
  } catch (err) {
    await store.close();
    await engine.close();
    throw new Error(`cannot listen on ${options.listen}: ${(err as Error).message}`);
  }
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  logger.info({ address, dataDir: options.dataDir, engine: options.engine, revision: store.currentRevision, memberId: identity.memberId }, 'node started');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      health.setStatus('', 'NOT_SERVING');
      const stopped = shutdownServer(server);
      watch.closeAll();
      await stopped;
      await writes.close();
      await store.close();
      await engine.close();
      logger.info({ address }, 'node stopped');
    })());
  return { address, memberId: identity.memberId, close };
}

function shutdownServer(server: import('@grpc/grpc-js').Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
