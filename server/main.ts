import { access, readFile } from 'node:fs/promises';
import { credentials, type Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AlarmCommand } from '../gen/ts/cairn/internal/v1/command.js';
import { AlarmType } from '../gen/ts/cairn/v1/maintenance.js';
import type { ResponseHeader } from '../gen/ts/cairn/v1/types.js';
import { AlarmStore } from './apply/alarm-store.js';
import type { WritePath } from './apply/write-path.js';
import { AuthStore } from './apply/auth/auth-store.js';
import { SpaceQuotaGate } from './apply/space-quota-gate.js';
import { authOperations, authService } from './api/auth-service.js';
import { etcdAdminServices } from './api/etcd/admin-services.js';
import { Authorizer } from './api/auth/authorizer.js';
import { certificateUser, memberByCertificate } from './api/auth/certificate-identity.js';
import { watchAccess } from './api/auth/watch-access.js';
import { clusterService } from './api/cluster-service.js';
import { buildGrpcServer, bind } from './api/grpc-server.js';
import { kvOperations, kvService, type KvServiceDeps } from './api/kv-service.js';
import { LeaseForwarder } from './api/lease-forwarder.js';
import { leaseOperations, leaseService, type LeaseServiceDeps } from './api/lease-service.js';
import { etcdKvService } from './api/etcd/kv-service.js';
import { etcdLeaseService } from './api/etcd/lease-service.js';
import { etcdHeaderFactory } from './api/etcd/response-header.js';
import type { EtcdServices } from './api/etcd/services.js';
import { ETCD_WATCH_PROTOCOL } from './api/etcd/watch-protocol.js';
import { maintenanceService } from './api/maintenance-service.js';
import { SnapshotStreamSlots } from './api/snapshot-stream-slots.js';
import { packageRoot } from './api/proto-files.js';
import { RequestValidator } from './api/validate.js';
import { watchService } from './api/watch-service.js';
import { minLeaseTtlSeconds, type NodeOptions } from './config.js';
import { MvccStore } from './mvcc/kv-store.js';
import { recoverSnapshotImport } from './mvcc/snapshot.js';
import { exportBackup } from './mvcc/backup-export.js';
import { clearIncomingSnapshots, incomingSnapshotDir } from './transport/incoming-snapshot.js';
import { WatchHub } from './mvcc/watch-hub.js';
import { parseInitialCluster, singleMemberCluster } from './node/cluster-config.js';
import { Membership, type MemberView } from './node/membership.js';
import { MembershipChanges } from './node/membership-changes.js';
import { learnMembersFromLog } from './node/members-from-log.js';
import { resumeOrJoin } from './join-cluster.js';
import { readMemberRecords, writeMemberRecords, type StoredMemberRecords } from './storage/member-records.js';
import { checkIdentity, chooseClusterToken } from './node-identity.js';
import { createRaftMember } from './raft-member.js';
import { MemberRemovedError, removedMemberFix } from './member-removed.js';
import { createLogger } from './observability/logging.js';
import { clearRejoiningMarker, discardLocalData, REJOINING_MARKER } from './storage/discard-local-data.js';
import { DurablePromiseFile, readDurablePromise } from './storage/durable-promise.js';
import { checkEngineOwner } from './storage/engine-owner.js';
import { fatalMessage } from './storage/open-errors.js';
import { checkWritable, engineLocation, openEngine } from './storage/open-engine.js';
import { checkAgainstPromise, checkStoreCoversLog, REJOIN_FIX } from './storage/promise-check.js';
import { StorageIntegrityError } from './storage/storage-error.js';
import { PromiseKeeper } from './storage/promise-keeper.js';
import { CairnMetrics } from './observability/metrics.js';
import { startTracing } from './observability/tracing.js';
import { rpcTracingInterceptor } from './api/rpc-tracing.js';
import { watchDeliveryTracer } from './api/watch-tracing.js';
import { startMemberTelemetry } from './member-telemetry.js';
import { DivergentMemberError, initialCorruptionCheck, PeriodicCorruptionCheck, type HashComparison } from './corruption-check.js';
import { RaftLogStore } from './storage/raft-log-store.js';
import { engineSizeInUse } from './storage/engine-size.js';
import { NoRoomForCopyError } from './storage/engine-rebuild.js';
import type { DefragmentReport, StorageEngine } from './storage/engine.js';
import { CairnError, ErrorCode } from './errors.js';
import { invariant } from './invariant.js';
import { SpaceQuotaMonitor } from './space-quota-monitor.js';
import { checkPlaintextListen, memberTls } from './transport/member-tls.js';
import { serverCredentials } from './api/server-credentials.js';
import path from 'node:path';

export interface RunningNode {
  /** host:port actually bound (so that --listen with port 0 can be used in tests). */
  readonly address: string;
  readonly memberId: number;
  /** host:port of /metrics, /healthz and /readyz; undefined without --metrics-listen. */
  readonly metricsAddress: string | undefined;
  close(): Promise<void>;
  /**
   * Resolves, with what to tell the operator, once a committed membership change removed this
   * member and it shut down (close() already ran). Never resolves otherwise.
   */
  readonly removed: Promise<string>;
}

const SHUTDOWN_GRACE_MS = 3_000;

/**
 * The composition root of a member: storage, MVCC store, Raft, watch hub and the one gRPC
 * server, wired once here. A plain `cairn serve` is a one-member cluster running the same
 * code as a three-member one. close() stops accepting calls, ends streams, lets in-flight
 * writes finish, and closes the database.
 */
export async function startNode(options: NodeOptions, logger: Logger = createLogger(options.logLevel)): Promise<RunningNode> {
  // Both may be given (one command line for every pod of a StatefulSet): the members that
  // --initial-cluster names bootstrap the cluster, any other member joins through --join.
  const bootstrapping = options.initialCluster.trim() !== '' && namedInInitialCluster(options.initialCluster, options.name);
  const joining = options.join.trim() !== '' && !bootstrapping;
  const single = !joining && options.initialCluster.trim() === '';
  // Checked before anything is written, so a mistaken command line leaves no data dir behind.
  const memberCount = joining ? 2 : single ? 1 : parseInitialCluster(options.initialCluster, options.name).members.length;
  checkPlaintextListen(options.listen, options.tls.certFile !== '' || options.tls.keyFile !== '', options.insecurePlaintext);
  // The current members, set once the cluster is known; the peer authenticator reads it per call.
  let members = (): readonly MemberView[] => [];
  const tls = memberTls(options.tls, () => members(), memberCount, logger);
  // Before the first file of ours is written: a read-only or full disk is named, with the fix.
  await checkWritable(options.dataDir);
  const joined = joining ? await resumeOrJoin(options.dataDir, options.join, options.name, tls?.peerCredentials) : undefined;
  const { token, warning }: { token: string; warning?: string } =
    joined ?? (await chooseClusterToken(options.dataDir, options.initialClusterToken, memberCount));
  if (warning !== undefined) logger.warn(warning);
  const cluster =
    joined?.cluster ??
    (single ? singleMemberCluster(options.name, options.listen, token) : parseInitialCluster(options.initialCluster, options.name, token));
  await checkIdentity(options.dataDir, {
    clusterId: cluster.clusterId,
    memberId: cluster.self.id,
    name: cluster.self.name,
    clusterToken: token,
  });
  if (options.discardLocalDataAndRejoin) {
    if (cluster.members.length === 1) {
      throw new Error(
        `--discard-local-data-and-rejoin needs other members to receive a snapshot from, and ${options.dataDir} is a single-member ` +
          'cluster: restore the data dir from a backup instead',
      );
    }
    await discardLocalData(options.dataDir);
    logger.warn(
      { dataDir: options.dataDir },
      'discarded the local data; rejoining as an empty member that receives a snapshot from the leader',
    );
  }
  const rejoining = await fileExists(path.join(options.dataDir, REJOINING_MARKER));
  // Names and addresses of members added since bootstrap, and the configuration the log starts from.
  const records: StoredMemberRecords = joined?.records ??
    readMemberRecords(options.dataDir) ?? {
      known: cluster.members,
      removed: [],
      start: { voters: cluster.members.map((m) => m.id), learners: [] },
    };
  const membership = new Membership(cluster.self, records, records.start);
  const saveMembers = (): void => writeMemberRecords(options.dataDir, { ...membership.records(), start: records.start });
  if (membership.isRemoved(cluster.self.id)) {
    throw new MemberRemovedError(
      `member ${cluster.self.name} (id ${cluster.self.id.toString(16)}) was removed from the cluster and does not start again. ` +
        removedMemberFix(options.dataDir),
    );
  }
  const identity = { clusterId: cluster.clusterId, memberId: cluster.self.id };
  const engineDir = engineLocation(options.engine, options.dataDir);
  const engine = await openEngine(
    options.engine,
    options.dataDir,
    { cacheBytes: options.engineCacheBytes, memtableBytes: options.engineMemtableBytes, maxOpenFiles: options.engineMaxOpenFiles },
    { onRecovered: (done) => logger.warn({ done }, 'finished a defragment that a crash interrupted') },
  );
  const onFatal = (err: unknown): void => {
    // Storage or an invariant failed: stop rather than serve from a state that can't be trusted.
    logger.fatal({ err }, fatalMessage(err, options.dataDir));
    process.exit(1);
  };
  let keeper: PromiseKeeper | undefined;
  let store: MvccStore;
  let logStore: RaftLogStore;
  try {
    await checkEngineOwner(engine, engineDir, identity);
    // A snapshot install interrupted by a crash is finished (or discarded) before anything reads the store.
    await recoverSnapshotImport(engine);
    // Snapshot files a crash left half received (or received and not yet installed): the
    // leader sends again whatever is still needed.
    const stale = await clearIncomingSnapshots(incomingSnapshotDir(options.dataDir));
    if (stale.length > 0) logger.info({ files: stale }, 'deleted incoming snapshot files left by a previous run');
    store = await MvccStore.open(engine);
    const promise = await readDurablePromise(options.dataDir);
    logStore = await RaftLogStore.open(engine, {
      voters: records.start.voters,
      learners: records.start.learners,
      onSyncedSave: (state, durable) => keeper?.record(state, durable),
    });
    // Refuse, before anything is served or sent, a log that forgot what it promised.
    checkAgainstPromise(options.dataDir, engineDir, logStore.storage, promise, identity, logStore.hadData);
    checkStoreCoversLog(engineDir, store.consistentIndex, logStore.storage);
    keeper = new PromiseKeeper(await DurablePromiseFile.open(options.dataDir), identity, promise);
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw withLocation(err, engineDir);
  }
  const hub = new WatchHub(store, options.limits, logger);
  const auth = new AuthStore();
  await auth.load(engine);
  const alarms = new AlarmStore();
  await alarms.load(engine);
  let readBarrier = (): Promise<void> => Promise.resolve();
  const authorizer = new Authorizer(auth, {
    readBarrier: () => readBarrier(),
    // Without TLS, forwarded lease calls are trusted like the peer service (loopback only).
    ...(tls !== undefined
      ? { certificateUser: certificateUser(tls.clientCertAuth), fromMember: memberByCertificate(tls.authenticator) }
      : {}),
  });

  let term = (): number => 0;
  const header = (revision: number): ResponseHeader => ({
    clusterId: cluster.clusterId,
    memberId: cluster.self.id,
    revision,
    raftTerm: term(),
  });
  // Conf changes still in the log name their members, should the records have missed one (a crash between apply and save).
  learnMembersFromLog(logStore.storage, membership);
  saveMembers();
  members = () => membership.list();
  let toldRemoved = false;
  // Until startNode returns, a removal (a restarted member that was removed) waits here.
  let removedEarly: string | undefined;
  let onRemoved = (message: string): void => {
    removedEarly = message;
  };
  // Without a metrics port nobody reads the numbers: skip the process metrics' timers.
  const metrics = new CairnMetrics({ member: cluster.self.name }, options.metricsListen !== '');
  // On only when the OTEL_* environment asks for it (docs/observability.md).
  const tracing = await startTracing({ name: cluster.self.name, id: cluster.self.id });
  if (tracing !== undefined) hub.observeDelivery(watchDeliveryTracer(cluster.self.id));
  const member = createRaftMember({
    ...options,
    cluster,
    membership,
    startConfig: records.start,
    onMembershipChanged: () => {
      try {
        saveMembers();
      } catch (err) {
        onFatal(err);
      }
    },
    onRemoved: ({ index }) => {
      // Recorded, should the removal have come in a snapshot: the data dir is refused from now on.
      membership.markSelfRemoved();
      try {
        saveMembers();
      } catch (err) {
        onFatal(err);
      }
      const message =
        `member ${cluster.self.name} (id ${cluster.self.id.toString(16)}) was removed from the cluster (membership change at index ${index}); it stopped. ` +
        removedMemberFix(options.dataDir);
      logger.warn({ index }, message);
      // Out of the driver's loop: shutting down waits for it.
      setImmediate(() => onRemoved(message));
    },
    onToldRemoved: (by) => {
      if (toldRemoved) return; // every peer says it
      toldRemoved = true;
      membership.markSelfRemoved();
      try {
        saveMembers();
      } catch (err) {
        onFatal(err);
        return;
      }
      const teller = membership.member(by)?.name ?? by.toString(16);
      const message =
        `member ${cluster.self.name} (id ${cluster.self.id.toString(16)}) was removed from the cluster ` +
        `(${teller} applied the removal and refused its messages); it stopped. ` +
        removedMemberFix(options.dataDir);
      logger.warn({ by }, message);
      setImmediate(() => onRemoved(message));
    },
    engine,
    store,
    logStore,
    hub,
    auth,
    alarms,
    header,
    logger,
    onFatal,
    rejoining,
    onCaughtUp: () => {
      clearRejoiningMarker(options.dataDir).then(
        () => logger.info('caught up with the leader after rejoining; this member votes again'),
        onFatal,
      );
    },
    ...(tls !== undefined ? { peerCredentials: tls.peerCredentials, peerAuthenticator: tls.authenticator } : {}),
    observer: metrics,
    tracing: tracing !== undefined,
  });
  term = () => member.driver.status().term;
  readBarrier = () => member.node.linearizableRead();

  const validator = new RequestValidator(options.limits);
  // Client writes that add data stop at the door while a NOSPACE alarm is active.
  const clientWrites = new SpaceQuotaGate(member.node, alarms);
  const watch = watchService({
    store,
    hub,
    limits: options.limits,
    validator,
    header,
    logger,
    progressIntervalMs: options.watchProgressIntervalMs,
    access: (call) => watchAccess(authorizer, { metadata: call.metadata, call }),
    observer: metrics,
  });
  const forwarder = new LeaseForwarder(
    options.limits.maxLeaseForwards,
    options.requestTimeoutMs,
    logger,
    // With TLS the leader's server is dialled like a peer, with the member certificate that proves the forwarder a member.
    tls?.peerCredentials ?? credentials.createInsecure(),
  );
  const kvDeps: KvServiceDeps = {
    store,
    writes: clientWrites,
    validator,
    header,
    logger,
    linearizableReadBarrier: () => member.node.linearizableRead(),
    freshEnough: (ms) => member.node.freshEnough(ms),
    checkedAs: (call) => authorizer.caller({ metadata: call.metadata, call }) ?? '',
  };
  const leaseDeps: LeaseServiceDeps = {
    store,
    writes: clientWrites,
    lessor: member.lessor,
    forwarder,
    leaderAddress: () => {
      const leader = member.driver.status().leader;
      return leader === cluster.self.id ? undefined : membership.member(leader)?.address;
    },
    limits: options.limits,
    minLeaseTtl: minLeaseTtlSeconds(options),
    header,
    logger,
    linearizableReadBarrier: () => member.node.linearizableRead(),
    checkedAs: (call) => authorizer.caller({ metadata: call.metadata, call }) ?? '',
  };
  // etcd's v3 API over the same operations (issue 17); its headers are the member's own.
  const etcdHeader = etcdHeaderFactory(header);
  const etcd: EtcdServices | undefined = options.etcdCompat
    ? {
        kv: etcdKvService(kvOperations(kvDeps), options.limits, logger),
        watch: { watch: (call) => watch.serve(call, ETCD_WATCH_PROTOCOL) },
        lease: etcdLeaseService(leaseOperations(leaseDeps), etcdHeader, () => store.currentRevision, options.limits, logger),
      }
    : undefined;
  const version = await packageVersion();
  // The parts cairn.v1's services and etcd's (server/api/etcd/) share: one of each.
  const moveLeaderTo = async (target: number): Promise<void> => {
    // So that the next leader continues each lease from its remaining TTL.
    if (member.lessor.isLeader()) await member.checkpointLeases();
    await member.node.moveLeader(target, 2 * options.electionTimeoutMs);
  };
  const changes = new MembershipChanges({
    membership,
    driver: member.driver,
    moveLeader: moveLeaderTo,
    timeoutMs: options.requestTimeoutMs,
  });
  const mover = { memberIds: () => membership.list().map((m) => m.id), moveLeader: moveLeaderTo };
  const alarmAccess = {
    list: () => alarms.list(),
    disarm: (memberId: number, alarm: AlarmType) => submitAlarm(member.node, { activate: false, memberId, alarm, detail: '' }),
  };
  const engineUpkeep = {
    diskBytes: () => engineSizeInUse(engineDir),
    liveDataBytes: async () => (await engine.liveDataBytes?.()) ?? 0,
    defragment: () => defragmentEngine(engine),
  };
  // One bound on backup streams for cairn.v1's and etcd's Snapshot together.
  const backupAccess = { backup: () => exportBackup(engine), slots: new SnapshotStreamSlots(options.limits.maxSnapshotStreams) };
  const authDeps = {
    store: auth,
    writes: member.node,
    header: () => header(store.currentRevision),
    linearizableReadBarrier: () => member.node.linearizableRead(),
    tokenTtlMs: options.authTokenTtlMs,
    maxKeyBytes: options.limits.maxKeyBytes,
    logger,
  };
  const leaderAddress = (): string | undefined => {
    const leader = member.driver.status().leader;
    return leader === cluster.self.id || leader === 0 ? undefined : membership.member(leader)?.address;
  };
  // A lone member reports the address it actually bound (--listen may name port 0).
  const { server, health } = buildGrpcServer(
    {
      kv: kvService(kvDeps),
      watch: watch.service,
      lease: leaseService(leaseDeps),
      cluster: clusterService({ members: () => membership.list(), changes, header: () => header(store.currentRevision), logger }),
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
        mover,
        () => header(store.currentRevision),
        version,
        logger,
        alarmAccess,
        engineUpkeep,
        backupAccess,
        { maxValueBytes: options.limits.maxValueBytes },
      ),
      auth: authService(authDeps),
      peer: member.peerServer.service,
      ...(etcd !== undefined ? { etcd } : {}),
      ...(options.etcdCompat
        ? {
            etcdAdmin: etcdAdminServices({
              store,
              header,
              logger,
              limits: options.limits,
              linearizableReadBarrier: () => member.node.linearizableRead(),
              writes: clientWrites,
              validator,
              checkedAs: (call) => authorizer.caller({ metadata: call.metadata, call }) ?? '',
              members: () => membership.list(),
              changes,
              leaderAddress,
              memberCredentials: tls?.peerCredentials ?? credentials.createInsecure(),
              requestTimeoutMs: options.requestTimeoutMs,
              scheme: tls !== undefined ? 'https' : 'http',
              maintenance: {
                status: () => {
                  const s = member.driver.status();
                  const self = membership.list().find((m) => m.id === cluster.self.id);
                  return {
                    id: s.id,
                    leader: s.leader,
                    term: s.term,
                    commit: s.commit,
                    applied: s.applied,
                    learner: self?.learner ?? false,
                  };
                },
                mover,
                alarms: {
                  ...alarmAccess,
                  arm: (memberId, alarm) =>
                    submitAlarm(member.node, { activate: true, memberId, alarm, detail: 'raised through etcd API' }),
                },
                engine: engineUpkeep,
                backups: backupAccess,
                quotaBytes: options.quotaBackendBytes,
                maxValueBytes: options.limits.maxValueBytes,
                cairnVersion: version,
              },
              auth: { ops: authOperations(authDeps), store: auth },
            }),
          }
        : {}),
    },
    options.limits,
    authorizer,
    { observer: metrics, interceptors: tracing === undefined ? [] : [rpcTracingInterceptor(cluster.self.id)] },
  );
  const comparison: HashComparison = {
    clusterId: cluster.clusterId,
    self: cluster.self,
    members: () => membership.list(),
    store,
    maxValueBytes: options.limits.maxValueBytes,
    credentials: tls?.peerCredentials,
    timeoutMs: options.requestTimeoutMs,
    logger,
  };
  let port: number;
  try {
    // Before serving anything: a member whose key space alone differs must not hand it out.
    if (options.initialCorruptCheck && !rejoining) await initialCorruptionCheck(comparison);
    port = await bind(server, options.listen, serverCredentials(tls?.serverFiles, tls?.clientCertAuth ?? false));
  } catch (err) {
    tls?.close();
    await store.close();
    await engine.close();
    if (err instanceof DivergentMemberError) throw err;
    throw new Error(`cannot listen on ${options.listen}: ${(err as Error).message}`);
  }
  member.start();
  // Whatever the size at start: a cluster grown from one member by MemberAdd is checked too.
  const corruptionCheck =
    options.corruptCheckIntervalMs > 0
      ? new PeriodicCorruptionCheck({
          ...comparison,
          intervalMs: options.corruptCheckIntervalMs,
          isLeader: () => member.driver.status().role === 'leader',
          alarmed: (memberId) => alarms.active(AlarmType.ALARM_TYPE_CORRUPT, memberId),
          raise: ({ memberId, detail }) =>
            submitAlarm(member.node, { activate: true, memberId, alarm: AlarmType.ALARM_TYPE_CORRUPT, detail }),
        })
      : undefined;
  const spaceQuota =
    options.quotaBackendBytes > 0
      ? new SpaceQuotaMonitor({
          selfId: cluster.self.id,
          quotaBytes: options.quotaBackendBytes,
          intervalMs: options.quotaCheckIntervalMs,
          measure: () => engineSizeInUse(engineDir),
          compactEngine: () => engine.compactAll?.() ?? Promise.resolve(false),
          alarmed: (memberId) => alarms.active(AlarmType.ALARM_TYPE_NOSPACE, memberId),
          alarmedMembers: () =>
            alarms
              .list()
              .filter((a) => a.alarm === AlarmType.ALARM_TYPE_NOSPACE)
              .map((a) => a.memberId),
          isLeader: () => member.driver.status().role === 'leader',
          memberIds: () => membership.list().map((m) => m.id),
          raise: (detail) =>
            submitAlarm(member.node, { activate: true, memberId: cluster.self.id, alarm: AlarmType.ALARM_TYPE_NOSPACE, detail }),
          clear: (memberId) => submitAlarm(member.node, { activate: false, memberId, alarm: AlarmType.ALARM_TYPE_NOSPACE, detail: '' }),
          logger,
        })
      : undefined;
  let metricsServer;
  try {
    metricsServer = await startMemberTelemetry({
      ...options,
      metrics,
      member,
      store,
      hub,
      openWatchStreams: watch.openStreams,
      raftLog: logStore.memory,
      logger,
    });
  } catch (err) {
    server.forceShutdown();
    await corruptionCheck?.close();
    await spaceQuota?.close();
    await member.close();
    await store.close();
    await engine.close();
    await tracing?.shutdown();
    throw new Error(`cannot listen on ${options.metricsListen} for metrics: ${(err as Error).message}`);
  }
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  // A member bootstrapped alone tells the others (once it grows) the address it actually bound.
  if (single) membership.setSelfAddress(address);
  logger.info(
    {
      address,
      name: cluster.self.name,
      memberId: cluster.self.id,
      members: membership.list().length,
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
      const metricsStopped = metricsServer?.close();
      const stopped = shutdownServer(server);
      watch.closeAll();
      forwarder.close();
      await corruptionCheck?.close();
      await spaceQuota?.close();
      await member.close();
      await stopped;
      // The log is quiet now: the last record is written.
      await keeper?.close().catch((err: unknown) => logger.error({ err }, 'could not close the durable-promise record'));
      tls?.close();
      await store.close();
      await engine.close();
      await metricsStopped;
      await tracing?.shutdown();
      logger.info({ address }, 'member stopped');
    })());
  const removed = new Promise<string>((resolve) => {
    onRemoved = (message) => void close().then(() => resolve(message));
  });
  if (removedEarly !== undefined) onRemoved(removedEarly);
  return { address, memberId: cluster.self.id, metricsAddress: metricsServer?.address, close, removed };
}

/** Whether --initial-cluster (name=host:port,...) names the member `name`. */
function namedInInitialCluster(initialCluster: string, name: string): boolean {
  return initialCluster.split(',').some((part) => part.trim().startsWith(`${name}=`));
}

/** Raises or ends alarms through the log, so that every member applies the same list. */
async function submitAlarm(writes: WritePath, alarm: AlarmCommand): Promise<void> {
  const outcome = await writes.submit({ request: { $case: 'alarm', alarm }, checkedAs: '' });
  if (!outcome.ok) throw outcome.error;
}

/** A damaged record found while loading names the database it is in and the way back. */
/** The engine's defragment, its refusals as the client's errors. */
async function defragmentEngine(engine: StorageEngine): Promise<DefragmentReport> {
  invariant(engine.defragment !== undefined, `the ${engine.name} engine has no defragment`);
  try {
    return await engine.defragment();
  } catch (err) {
    // The disk cannot hold the copy: nothing was changed, and the operator can free space.
    if (err instanceof NoRoomForCopyError) throw new CairnError(ErrorCode.ERROR_CODE_NO_SPACE, err.message);
    throw err;
  }
}

function withLocation(err: unknown, engineDir: string): unknown {
  if (!(err instanceof StorageIntegrityError) || err.message.includes(engineDir)) return err;
  return new StorageIntegrityError(err.code, `${engineDir}: ${err.message}: the database's records are damaged; ${REJOIN_FIX}`);
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
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
