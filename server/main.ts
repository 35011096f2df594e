import { mkdir, readFile } from 'node:fs/promises';
import type { Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ResponseHeader } from '../gen/ts/cairn/v1/types.js';
import { AuthStore } from './apply/auth/auth-store.js';
import { authService } from './api/auth-service.js';
import { Authorizer } from './api/auth/authorizer.js';
import { watchAccess } from './api/auth/watch-access.js';
import { clusterService } from './api/cluster-service.js';
import { buildGrpcServer, bind } from './api/grpc-server.js';
import { kvService } from './api/kv-service.js';
import { maintenanceService } from './api/maintenance-service.js';
import { packageRoot } from './api/proto-files.js';
import { RequestValidator } from './api/validate.js';
import { watchService } from './api/watch-service.js';
import type { NodeOptions } from './config.js';
import { MvccStore } from './mvcc/kv-store.js';
import { recoverSnapshotImport } from './mvcc/snapshot.js';
import { WatchHub } from './mvcc/watch-hub.js';
import { parseInitialCluster, singleMemberCluster, type ClusterMember } from './node/cluster-config.js';
import { checkIdentity, chooseClusterToken } from './node-identity.js';
import { createRaftMember } from './raft-member.js';
import { createLogger } from './observability/logging.js';
import { openEngine } from './storage/open-engine.js';
import { RaftLogStore } from './storage/raft-log-store.js';
import { checkPlaintextListen, memberTls } from './transport/member-tls.js';
import { serverCredentials } from './api/server-credentials.js';
import path from 'node:path';

export interface RunningNode {
  /** host:port actually bound (so that --listen with port 0 can be used in tests). */
  readonly address: string;
  readonly memberId: number;
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 3_000;

/**
 * The composition root of a member: storage, MVCC store, Raft, watch hub and the one gRPC
 * server, wired once here. A plain `cairn serve` is a one-member cluster running the same
 * code as a three-member one. close() stops accepting calls, ends streams, lets in-flight
 * writes finish, and closes the database.
 */
export async function startNode(options: NodeOptions, logger: Logger = createLogger(options.logLevel)): Promise<RunningNode> {
  const single = options.initialCluster.trim() === '';
  // Checked before anything is written, so a mistaken command line leaves no data dir behind.
  const memberCount = single ? 1 : parseInitialCluster(options.initialCluster, options.name).members.length;
  checkPlaintextListen(options.listen, options.tls.certFile !== '' || options.tls.keyFile !== '', options.insecurePlaintext);
  // The current members, set once the cluster is known; the peer authenticator reads it per call.
  let members: readonly ClusterMember[] = [];
  const tls = memberTls(options.tls, () => members, memberCount, logger);
  await mkdir(options.dataDir, { recursive: true });
  const { token, warning } = await chooseClusterToken(options.dataDir, options.initialClusterToken, memberCount);
  if (warning !== undefined) logger.warn(warning);
  const cluster = single
    ? singleMemberCluster(options.name, options.listen, token)
    : parseInitialCluster(options.initialCluster, options.name, token);
  await checkIdentity(options.dataDir, {
    clusterId: cluster.clusterId,
    memberId: cluster.self.id,
    name: cluster.self.name,
    clusterToken: token,
  });
  const engine = await openEngine(options.engine, options.dataDir);
  // A snapshot install interrupted by a crash is finished (or discarded) before anything reads the store.
  await recoverSnapshotImport(engine);
  const store = await MvccStore.open(engine);
  const logStore = await RaftLogStore.open(engine, { voters: cluster.members.map((m) => m.id) });
  const hub = new WatchHub(store, options.limits, logger);
  const auth = new AuthStore();
  await auth.load(engine);
  // The user of a verified client certificate (--client-cert-auth) plugs in here once TLS lands.
  let readBarrier = (): Promise<void> => Promise.resolve();
  const authorizer = new Authorizer(auth, { readBarrier: () => readBarrier() });

  let term = (): number => 0;
  const header = (revision: number): ResponseHeader => ({
    clusterId: cluster.clusterId,
    memberId: cluster.self.id,
    revision,
    raftTerm: term(),
  });
  const onFatal = (err: unknown): void => {
    // Storage or an invariant failed: stop rather than serve from a state that can't be trusted.
    logger.fatal({ err }, 'fatal error; stopping the member');
    process.exit(1);
  };
  members = cluster.members;
  const member = createRaftMember({
    ...options,
    cluster,
    engine,
    store,
    logStore,
    hub,
    header,
    logger,
    auth,
    onFatal,
    ...(tls !== undefined ? { peerCredentials: tls.peerCredentials, peerAuthenticator: tls.authenticator } : {}),
  });
  term = () => member.driver.status().term;
  readBarrier = () => member.node.linearizableRead();

  const validator = new RequestValidator(options.limits);
  const watch = watchService({
    store,
    hub,
    limits: options.limits,
    validator,
    header,
    logger,
    progressIntervalMs: options.watchProgressIntervalMs,
    access: (call) => watchAccess(authorizer, { metadata: call.metadata, call }),
  });
  const version = await packageVersion();
  // A lone member reports the address it actually bound (--listen may name port 0).
  const { server, health } = buildGrpcServer(
    {
      kv: kvService({
        store,
        writes: member.node,
        validator,
        header,
        logger,
        linearizableReadBarrier: () => member.node.linearizableRead(),
        freshEnough: (ms) => member.node.freshEnough(ms),
        checkedAs: (call) => authorizer.caller({ metadata: call.metadata, call }) ?? '',
      }),
      watch: watch.service,
      cluster: clusterService(
        () => members,
        () => header(store.currentRevision),
        logger,
      ),
      maintenance: maintenanceService(
        store,
        () => {
          const s = member.driver.status();
          return {
            name: cluster.self.name,
            leader: s.leader,
            role: s.role,
            raftIndex: s.lastIndex,
            raftTerm: s.term,
            raftCommitIndex: s.commit,
            raftAppliedIndex: s.applied,
            compactedRevision: store.compactedRevision,
            storageEngine: options.engine,
          };
        },
        {
          memberIds: cluster.members.map((m) => m.id),
          moveLeader: (target) => member.node.moveLeader(target, 2 * options.electionTimeoutMs),
        },
        () => header(store.currentRevision),
        version,
        logger,
      ),
      auth: authService({
        store: auth,
        writes: member.node,
        header: () => header(store.currentRevision),
        linearizableReadBarrier: () => member.node.linearizableRead(),
        tokenTtlMs: options.authTokenTtlMs,
        maxKeyBytes: options.limits.maxKeyBytes,
        logger,
      }),
      peer: member.peerServer.service,
    },
    options.limits,
    authorizer,
  );
  let port: number;
  try {
    port = await bind(server, options.listen, serverCredentials(tls?.serverFiles, tls?.clientCertAuth ?? false));
  } catch (err) {
    tls?.close();
    await store.close();
    await engine.close();
    throw new Error(`cannot listen on ${options.listen}: ${(err as Error).message}`);
  }
  member.start();
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  if (cluster.members.length === 1) members = [{ ...cluster.self, address }];
  logger.info(
    {
      address,
      name: cluster.self.name,
      memberId: cluster.self.id,
      members: cluster.members.length,
      dataDir: options.dataDir,
      engine: options.engine,
      revision: store.currentRevision,
      tls: tls === undefined ? 'off' : tls.clientCertAuth ? 'on, client certificates required' : 'on',
    },
    'member started',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      health.setStatus('', 'NOT_SERVING');
      const stopped = shutdownServer(server);
      watch.closeAll();
      await member.close();
      await stopped;
      tls?.close();
      await store.close();
      await engine.close();
      logger.info({ address }, 'member stopped');
    })());
  return { address, memberId: cluster.self.id, close };
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function shutdownServer(server: Server): Promise<void> {
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
