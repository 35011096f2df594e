import type { Logger } from 'pino';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseServer } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import type { Limits } from '../../config.js';
import { isForwarded } from '../lease-forwarder.js';
import { keepAliveStream } from '../lease-keep-alive-stream.js';
import { MAX_LEASE_ID, type LeaseOperations } from '../lease-service.js';
import { unary } from '../unary.js';
import type { EtcdHeaderFactory } from './response-header.js';
import { toEtcdHeader } from './response-header.js';
import { ETCD_ERRORS, EtcdStatusError, toEtcdServiceError } from './rpctypes.js';

/**
 * etcd's Lease service (etcdserverpb.Lease) over the same lease operations as cairn.v1's:
 * grants and revokes through the log, keep-alives and time-to-live answered by the leader's
 * lessor (a follower forwards them). etcd's answers where they differ from Cairn's: a
 * keep-alive for an unknown lease gets TTL 0, a time-to-live TTL -1 (both as Cairn), and a
 * revoke of an id no lease can have is "lease not found" (Cairn: an invalid argument).
 */
export function etcdLeaseService(
  ops: LeaseOperations,
  header: EtcdHeaderFactory,
  currentRevision: () => number,
  limits: Limits,
  logger: Logger,
): LeaseServer {
  const call = <Req, Res>(method: string, handler: Parameters<typeof unary<Req, Res>>[2]) =>
    unary(logger, method, handler, toEtcdServiceError);
  return {
    leaseGrant: call('etcd LeaseGrant', async (req) => {
      const granted = await ops.grant({ ttl: req.TTL, id: req.ID });
      return { header: toEtcdHeader(granted.header), ID: granted.id, TTL: granted.ttl, error: '' };
    }),
    leaseRevoke: call('etcd LeaseRevoke', async (req, c) => {
      if (req.ID <= 0 || req.ID > MAX_LEASE_ID) throw new EtcdStatusError(ETCD_ERRORS.leaseNotFound);
      const revoked = await ops.revoke({ id: req.ID }, c);
      return { header: toEtcdHeader(revoked.header) };
    }),
    leaseTimeToLive: call('etcd LeaseTimeToLive', async (req, c) => {
      const r = await ops.timeToLive({ id: req.ID, keys: req.keys }, isForwarded(c));
      return { header: toEtcdHeader(r.header), ID: r.id, TTL: r.ttl, grantedTTL: r.grantedTtl, keys: r.keys };
    }),
    leaseLeases: call('etcd LeaseLeases', async () => {
      const r = await ops.leases();
      return { header: toEtcdHeader(r.header), leases: r.leases.map((l) => ({ ID: l.id })) };
    }),
    leaseKeepAlive: (stream) =>
      keepAliveStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(stream, (id, forwarded) => ops.renew(id, forwarded), limits, logger, {
        idOf: (req) => req.ID,
        response: (ID, TTL) => ({ header: header(currentRevision()), ID, TTL }),
        toError: toEtcdServiceError,
      }),
  };
}
