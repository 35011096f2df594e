import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AuthStore } from '../../apply/auth/auth-store.js';
import type { WritePath } from '../../apply/write-path.js';
import type { HeaderFactory } from '../../apply/outcome.js';
import type { Limits } from '../../config.js';
import type { MvccStore } from '../../mvcc/kv-store.js';
import type { MembershipChanges } from '../../node/membership-changes.js';
import type { MemberView } from '../../node/membership.js';
import type { AuthOperations } from '../auth-service.js';
import type { ServerCall } from '../auth/authorizer.js';
import type { EtcdAdminServices } from '../grpc-server.js';
import type { RequestValidator } from '../validate.js';
import { etcdAuthService } from './auth-service.js';
import { etcdClusterService } from './cluster-service.js';
import { etcdElectionService } from './election-service.js';
import type { UrlScheme } from './etcd-member.js';
import { ClusterLeaderForwarder } from './leader-forward.js';
import { etcdLockService } from './lock-service.js';
import { etcdMaintenanceService, type EtcdMaintenanceDeps } from './maintenance-service.js';
import { PrefixChanges } from './prefix-changes.js';
import { etcdHeaderFactory } from './response-header.js';
import { WaitingQueue } from './waiting-queue.js';

/** What etcd's Cluster, Maintenance, Auth, Lock and Election services are built on: cairn.v1's own parts. */
export interface EtcdAdminDeps {
  readonly store: MvccStore;
  readonly header: HeaderFactory;
  readonly logger: Logger;
  readonly limits: Limits;
  readonly linearizableReadBarrier: () => Promise<void>;
  /** Client writes, through the space quota gate (as the KV service's). */
  readonly writes: WritePath;
  readonly validator: RequestValidator;
  readonly checkedAs: (call: ServerCall) => string;
  readonly members: () => readonly MemberView[];
  readonly changes: MembershipChanges;
  readonly leaderAddress: () => string | undefined;
  /** How a member dials another (the peer credentials with TLS). */
  readonly memberCredentials: ChannelCredentials;
  readonly requestTimeoutMs: number;
  readonly scheme: UrlScheme;
  readonly maintenance: Omit<EtcdMaintenanceDeps, 'store' | 'header' | 'logger'>;
  readonly auth: { readonly ops: AuthOperations; readonly store: AuthStore };
}

export function etcdAdminServices(deps: EtcdAdminDeps): EtcdAdminServices {
  const etcdHeader = etcdHeaderFactory(deps.header);
  const current = () => etcdHeader(deps.store.currentRevision);
  const { logger } = deps;
  const queue = new WaitingQueue({
    store: deps.store,
    writes: deps.writes,
    validator: deps.validator,
    linearizableReadBarrier: deps.linearizableReadBarrier,
    // Each waiting Lock, Campaign or Observe holds one wake-up, bounded like watch streams.
    changes: new PrefixChanges((listener) => deps.store.onCommit(listener), deps.limits.maxWatchStreams),
    header: deps.header,
  });
  return {
    cluster: etcdClusterService({
      members: deps.members,
      changes: deps.changes,
      leaderAddress: deps.leaderAddress,
      forwarder: new ClusterLeaderForwarder(deps.memberCredentials, deps.requestTimeoutMs),
      linearizableReadBarrier: deps.linearizableReadBarrier,
      header: current,
      scheme: deps.scheme,
      logger,
    }),
    maintenance: etcdMaintenanceService({ ...deps.maintenance, store: deps.store, header: current, logger }),
    auth: etcdAuthService({ ...deps.auth, linearizableReadBarrier: deps.linearizableReadBarrier, header: current, logger }),
    lock: etcdLockService({ queue, checkedAs: deps.checkedAs, logger }),
    election: etcdElectionService({ queue, checkedAs: deps.checkedAs, logger }),
  };
}
