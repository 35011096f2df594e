import { status } from '@grpc/grpc-js';
import { DowngradeRequest_DowngradeAction, type DowngradeRequest } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { etcdError } from './etcd-call-errors.js';
import { ETCD_ERRORS, EtcdStatusError } from './rpctypes.js';

/** A semantic version as etcd's go-semver parses one (major.minor.patch, optional -pre and +build). */
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/**
 * etcd's Downgrade (etcdserver/v3_server.go) as answered by an etcd that has no version to go
 * down to: Cairn's storage is not etcd's, so no target is one it can run at.
 *
 * - VALIDATE, ENABLE: a target that is not a version (etcd also takes "major.minor"):
 *   `etcdserver: wrong downgrade target version format`; any version: `etcdserver: invalid
 *   downgrade target version`, etcd's answer to a target other than the one minor version
 *   below the cluster's (nothing is enabled, so downgradeInfo in Status stays disabled).
 * - CANCEL: etcd answers with the cluster version even when no downgrade is in progress (it
 *   only logs "no inflight downgrade job"), so this does too.
 * - any other action: etcd's `etcdserver: unknown method`, which gRPC sends as UNKNOWN.
 *
 * Returns the cluster version to answer with ("3.7", as etcd's version.Cluster).
 */
export function etcdDowngrade(req: DowngradeRequest, clusterVersion: string): string {
  switch (req.action) {
    case DowngradeRequest_DowngradeAction.VALIDATE:
    case DowngradeRequest_DowngradeAction.ENABLE:
      if (!SEMVER.test(req.version) && !SEMVER.test(`${req.version}.0`)) throw new EtcdStatusError(ETCD_ERRORS.wrongDowngradeVersionFormat);
      throw new EtcdStatusError(ETCD_ERRORS.invalidDowngradeTarget);
    case DowngradeRequest_DowngradeAction.CANCEL:
      return clusterVersion;
    default:
      throw etcdError(status.UNKNOWN, 'etcdserver: unknown method');
  }
}
