/**
 * A three-member real etcd and a three-member Cairn started side by side, for tests that
 * compare them. A start that fails kills whichever cluster did start (by PID), so no member
 * outlives a failed hook.
 */
import { startClusterProcesses, type ClusterProcesses } from '../helpers/cluster-process.js';
import { startEtcdCluster, type EtcdCluster } from './etcd-cluster.js';
import { requireEtcdTools } from './etcd-tools.js';

export interface BothClusters {
  readonly etcd: EtcdCluster;
  readonly cairn: ClusterProcesses;
  cleanup(): Promise<void>;
}

export async function startBothClusters(): Promise<BothClusters> {
  requireEtcdTools();
  const [etcd, cairn] = await Promise.allSettled([startEtcdCluster(3), startClusterProcesses(3)]);
  const cleanup = async (): Promise<void> => {
    await Promise.all([
      etcd.status === 'fulfilled' ? etcd.value.cleanup() : undefined,
      cairn.status === 'fulfilled' ? cairn.value.cleanup() : undefined,
    ]);
  };
  if (etcd.status === 'rejected' || cairn.status === 'rejected') {
    await cleanup();
    throw etcd.status === 'rejected' ? etcd.reason : (cairn as PromiseRejectedResult).reason;
  }
  try {
    await cairn.value.waitForLeader();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { etcd: etcd.value, cairn: cairn.value, cleanup };
}
