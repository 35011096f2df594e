import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type {
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseServiceServer,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
} from '../../gen/ts/cairn/v1/lease.js';
import type { Lessor } from '../apply/lessor.js';
import type { HeaderFactory } from '../apply/outcome.js';
import type { ServerCall } from './auth/authorizer.js';
import type { WritePath } from '../apply/write-path.js';
import type { Limits } from '../config.js';
import { CairnError, ErrorCode } from '../errors.js';
import { keyBytes } from '../mvcc/key-range.js';
import type { MvccStore } from '../mvcc/kv-store.js';
import { toServiceError } from './errors.js';
import { isForwarded, type LeaseForwarder } from './lease-forwarder.js';
import { keepAliveStream } from './lease-keep-alive-stream.js';
import { unary } from './unary.js';

/** Lease ids are positive and at most 2^53 - 1, so that every SDK holds them as plain numbers. */
export const MAX_LEASE_ID = Number.MAX_SAFE_INTEGER;
/** Grants with an id the member chose retry this often on the (unlikely) clash with a lease in use. */
const GRANT_ATTEMPTS = 3;

export interface LeaseServiceDeps {
  store: MvccStore;
  writes: WritePath;
  lessor: Lessor;
  forwarder: LeaseForwarder;
  /** The leader's client address, or undefined while none is known. */
  leaderAddress: () => string | undefined;
  limits: Limits;
  /** Grants asking for a shorter TTL get this many seconds. */
  minLeaseTtl: number;
  header: HeaderFactory;
  logger: Logger;
  linearizableReadBarrier: () => Promise<void>;
  /** The user the caller was checked as (empty when authentication is off); see command.proto. */
  checkedAs: (call: ServerCall) => string;
}

/** What a lease call does once decoded: shared by cairn.v1's Lease service and etcd's (server/api/etcd/). */
export interface LeaseOperations {
  grant(req: LeaseGrantRequest): Promise<LeaseGrantResponse>;
  revoke(req: LeaseRevokeRequest, call: ServerCall): Promise<LeaseRevokeResponse>;
  /** forwarded: the call came from a follower (FORWARDED_HEADER) and is not forwarded again. */
  timeToLive(req: LeaseTimeToLiveRequest, forwarded: boolean): Promise<LeaseTimeToLiveResponse>;
  leases(): Promise<LeaseLeasesResponse>;
  /** The renewed lease's TTL (0 when it does not exist): at once on the leader, else from the leader. */
  renew(id: number, forwarded: boolean): number | Promise<number>;
}

/**
 * The lease operations. Grant and revoke are writes through the log. Keep-alive and
 * time-to-live need the leader's clock: the leader answers them from its lessor (no log
 * entry per renewal), and a follower forwards them to the leader (lease-forwarder.ts).
 */
export function leaseOperations(deps: LeaseServiceDeps): LeaseOperations {
  const { store, writes, lessor, header, limits } = deps;

  async function write<T>(command: Command): Promise<T> {
    const outcome = await writes.submit(command);
    if (!outcome.ok) throw outcome.error;
    return outcome.response as T;
  }

  return {
    async grant(req) {
      if (req.ttl < 0) throw invalid(`ttl must not be negative (got ${req.ttl})`);
      if (req.id < 0 || req.id > MAX_LEASE_ID)
        throw invalid(`lease id must be between 1 and ${MAX_LEASE_ID}, or 0 to let the cluster choose (got ${req.id})`);
      if (req.ttl > limits.maxLeaseTtl) {
        throw new CairnError(
          ErrorCode.ERROR_CODE_LEASE_TTL_TOO_LARGE,
          `ttl ${req.ttl}s is over the limit of ${limits.maxLeaseTtl}s (--max-lease-ttl)`,
        );
      }
      const ttl = Math.max(req.ttl, deps.minLeaseTtl);
      for (let attempt = 1; ; attempt++) {
        const id = req.id !== 0 ? req.id : randomLeaseId();
        try {
          return await write<LeaseGrantResponse>({ request: { $case: 'leaseGrant', leaseGrant: { id, ttl } }, checkedAs: '' });
        } catch (err) {
          const clash = err instanceof CairnError && err.code === ErrorCode.ERROR_CODE_LEASE_EXISTS;
          if (!clash || req.id !== 0 || attempt >= GRANT_ATTEMPTS) throw err;
        }
      }
    },
    revoke(req, call) {
      if (req.id <= 0 || req.id > MAX_LEASE_ID) throw invalid(`lease id must be between 1 and ${MAX_LEASE_ID} (got ${req.id})`);
      // Revoking deletes the lease's keys: the applier checks write permission on each of them.
      return write<LeaseRevokeResponse>({
        request: { $case: 'leaseRevoke', leaseRevoke: { id: req.id } },
        checkedAs: deps.checkedAs(call),
      });
    },
    async timeToLive(req, forwarded) {
      const address = leaderToForwardTo(deps, forwarded);
      if (address !== undefined) return deps.forwarder.timeToLive(address, req);
      const ttl = lessor.timeToLive(req.id);
      const lease = store.leases.get(req.id);
      if (ttl === undefined || lease === undefined)
        return { header: header(store.currentRevision), id: req.id, ttl: -1, grantedTtl: 0, keys: [] };
      const keys = req.keys ? [...lease.keys].sort().map(keyBytes) : [];
      return { header: header(store.currentRevision), id: req.id, ttl: ttl.ttl, grantedTtl: ttl.grantedTtl, keys };
    },
    async leases() {
      await deps.linearizableReadBarrier();
      const ids = [...store.leases.all()].map((l) => l.id).sort((a, b) => a - b);
      return { header: header(store.currentRevision), leases: ids.map((id) => ({ id })) };
    },
    renew(id, forwarded) {
      const address = leaderToForwardTo(deps, forwarded);
      return address === undefined ? lessor.renew(id) : deps.forwarder.keepAlive(address, id);
    },
  };
}

/** The Lease service: thin handlers over leaseOperations. */
export function leaseService(deps: LeaseServiceDeps): LeaseServiceServer {
  const ops = leaseOperations(deps);
  const { logger, header, store } = deps;
  return {
    leaseGrant: unary(logger, 'LeaseGrant', (req) => ops.grant(req)),
    leaseRevoke: unary(logger, 'LeaseRevoke', (req, call) => ops.revoke(req, call)),
    leaseTimeToLive: unary(logger, 'LeaseTimeToLive', (req, call) => ops.timeToLive(req, isForwarded(call))),
    leaseLeases: unary(logger, 'LeaseLeases', () => ops.leases()),
    leaseKeepAlive: (call) =>
      keepAliveStream(call, (id, forwarded) => ops.renew(id, forwarded), deps.limits, logger, {
        idOf: (req) => req.id,
        response: (id, ttl): LeaseKeepAliveResponse => ({ header: header(store.currentRevision), id, ttl }),
        toError: toServiceError,
      }),
  };
}

/**
 * undefined when this member leads and answers itself; else the leader to forward to. A
 * request that was already forwarded is never forwarded again (no loops while leadership
 * moves): the client retries instead.
 */
function leaderToForwardTo(deps: LeaseServiceDeps, forwarded: boolean): string | undefined {
  if (deps.lessor.isLeader()) return undefined;
  const address = deps.leaderAddress();
  if (address === undefined || forwarded) {
    throw new CairnError(ErrorCode.ERROR_CODE_NO_LEADER, 'no leader is known to answer lease keep-alives and time-to-live now; retry');
  }
  return address;
}

function invalid(message: string): CairnError {
  return new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, message);
}

/** A random id in [1, 2^53 - 1]: 53 random bits, never 0. */
function randomLeaseId(): number {
  const bytes = randomBytes(8);
  const id = (bytes.readUInt32BE(0) & 0x1fffff) * 2 ** 32 + bytes.readUInt32BE(4);
  return id === 0 ? 1 : id;
}
