/**
 * The lease API: `client.lease.grant(ttl)`, `revoke`, `keepAlive`, `keepAliveOnce`,
 * `timeToLive`, `leases`. A lease is a time-to-live contract; keys put with `{ lease: id }`
 * are deleted, all at one revision, when it expires or is revoked.
 *
 *   const { id } = await client.lease.grant(10);
 *   await client.put('service/a', 'addr', { lease: id });
 *   const ka = client.lease.keepAlive(id);      // renews every ttl/3 until closed
 *   ...
 *   ka.close();
 *   await client.lease.revoke(id);
 */
import { status } from '@grpc/grpc-js';
import type {
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
} from '../gen/cairn/v1/lease.js';
import { CairnError, toCairnError } from './errors.js';
import { LeaseKeepAlive, leaseNotFound, type KeepAliveResult } from './lease-keep-alive.js';
import { header, type Header } from './kv-types.js';
import { toBigInt, type Int64 } from './int64.js';
import { unary } from './member.js';
import type { InvokeOptions, MemberPool } from './pool.js';

export { LeaseKeepAlive, type KeepAliveResult };

export interface LeaseGrantResult {
  header: Header;
  id: bigint;
  /** The granted TTL in seconds (the server raises a TTL below its minimum). */
  ttl: number;
}

export interface LeaseTimeToLiveResult {
  header: Header;
  id: bigint;
  /** Remaining seconds; -1 when the lease does not exist (expired, revoked, never granted). */
  ttl: number;
  grantedTtl: number;
  /** The keys attached, when asked for with `{ keys: true }`. */
  keys: Buffer[];
}

export class LeaseClient {
  constructor(
    private readonly pool: MemberPool,
    private readonly dialTimeoutMs: number,
  ) {}

  /** Grants a lease of `ttl` seconds; `id` asks for a particular id (0 or unset: any). */
  async grant(ttl: number, options: { id?: Int64 } & InvokeOptions = {}): Promise<LeaseGrantResult> {
    const req = { ttl: toBigInt(ttl, 'ttl'), id: toBigInt(options.id ?? 0n, 'lease') };
    const res = await this.pool.invoke(
      'write',
      (c) => unary<LeaseGrantResponse>((cb) => c.member.lease.leaseGrant(req, c.metadata, { deadline: c.deadline }, cb)),
      options,
    );
    return { header: header(res.header), id: res.id, ttl: Number(res.ttl) };
  }

  /** Ends a lease now, deleting every key attached to it (at one revision). */
  async revoke(lease: Int64, options: InvokeOptions = {}): Promise<Header> {
    const res = await this.pool.invoke(
      'write',
      (c) =>
        unary<LeaseRevokeResponse>((cb) =>
          c.member.lease.leaseRevoke({ id: toBigInt(lease, 'lease') }, c.metadata, { deadline: c.deadline }, cb),
        ),
      options,
    );
    return header(res.header);
  }

  /**
   * Keeps a lease alive until closed: renews it about every TTL/3 on a LeaseKeepAlive
   * stream that moves to another member when its member fails. Iterate it for the
   * renewals; iteration throws NOT_FOUND when the lease is gone.
   */
  keepAlive(lease: Int64, options: { signal?: AbortSignal } = {}): LeaseKeepAlive {
    return new LeaseKeepAlive(this.pool, toBigInt(lease, 'lease'), { dialTimeoutMs: this.dialTimeoutMs, signal: options.signal });
  }

  /** Renews a lease once; throws NOT_FOUND when it is gone. */
  async keepAliveOnce(lease: Int64, options: InvokeOptions = {}): Promise<KeepAliveResult> {
    const id = toBigInt(lease, 'lease');
    // A renewal is safe to repeat, so it is retried like a read.
    return this.pool.invoke(
      'read',
      (c) =>
        new Promise<KeepAliveResult>((resolve, reject) => {
          const sentAt = Date.now();
          const call = c.member.lease.leaseKeepAlive(c.metadata, { deadline: c.deadline });
          call.on('data', (res: LeaseKeepAliveResponse) => {
            call.cancel();
            if (res.ttl <= 0n) reject(leaseNotFound(id, c.member.address));
            else resolve({ header: header(res.header), id: res.id, ttl: Number(res.ttl), sentAt });
          });
          call.on('error', (err) => reject(toCairnError(err, c.member.address)));
          call.on('end', () =>
            reject(new CairnError({ code: status.UNAVAILABLE, message: 'keep-alive stream ended', endpoint: c.member.address })),
          );
          call.write({ id });
        }),
      options,
    );
  }

  /** Describes a lease: remaining and granted TTL, and with `{ keys: true }` its keys. */
  async timeToLive(lease: Int64, options: { keys?: boolean } & InvokeOptions = {}): Promise<LeaseTimeToLiveResult> {
    const req = { id: toBigInt(lease, 'lease'), keys: options.keys ?? false };
    const res = await this.pool.invoke(
      'read',
      (c) => unary<LeaseTimeToLiveResponse>((cb) => c.member.lease.leaseTimeToLive(req, c.metadata, { deadline: c.deadline }, cb)),
      options,
    );
    return { header: header(res.header), id: res.id, ttl: Number(res.ttl), grantedTtl: Number(res.grantedTtl), keys: res.keys };
  }

  /** The ids of every live lease, ascending. */
  async leases(options: InvokeOptions = {}): Promise<bigint[]> {
    const res = await this.pool.invoke(
      'read',
      (c) => unary<LeaseLeasesResponse>((cb) => c.member.lease.leaseLeases({}, c.metadata, { deadline: c.deadline }, cb)),
      options,
    );
    return res.leases.map((l) => l.id);
  }
}
