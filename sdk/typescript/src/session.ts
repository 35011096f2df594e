/**
 * Session: one lease kept alive in the background, the liveness that locks, elections and
 * registrations are bound to.
 *
 *   const session = await client.session({ ttl: 10 });
 *   session.on('lost', (err) => { ... stop acting as holder/leader ... });
 *   await session.register('services/api/a', '10.0.0.1:80');   // gone when the session is
 *   await session.close();                                     // revokes the lease
 *
 * The session is lost when the server says the lease is gone (a keep-alive answered with
 * ttl <= 0), or when no member renewed it before it would have expired, judged from the
 * last renewal that was answered (a process paused for longer than the TTL finds out the
 * moment it runs again). A lost session stays lost: make a new one.
 */
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import type { Bytes, KeySelector } from './bytes.js';
import { CairnError, ErrorCode, toCairnError } from './errors.js';
import type { PutResult, RangeResult } from './kv-types.js';
import { toBigInt, type Int64 } from './int64.js';
import type { LeaseClient } from './lease.js';
import { leaseNotFound, type LeaseKeepAlive } from './lease-keep-alive.js';
import type { InvokeOptions } from './pool.js';
import type { PutOptions, ReadOptions } from './requests.js';
import type { Txn } from './txn.js';
import type { Watch, WatchOptions } from './watch.js';

export const DEFAULT_SESSION_TTL = 60;

export interface SessionOptions {
  /** The lease's TTL in seconds (default 60). A shorter TTL notices a dead holder sooner. */
  ttl?: number;
  /** Keep alive this existing lease instead of granting a new one. */
  leaseId?: Int64;
}

/** What the recipes need of a client (CairnClient has all of it). */
export interface SessionClient {
  readonly lease: LeaseClient;
  put(key: Bytes, value: Bytes, options?: PutOptions & InvokeOptions): Promise<PutResult>;
  range(sel: KeySelector, options?: ReadOptions & InvokeOptions): Promise<RangeResult>;
  txn(): Txn;
  watch(key: Bytes, options?: WatchOptions): Watch;
}

export class Session extends EventEmitter {
  private lostError: CairnError | undefined;
  private closed = false;
  private expiry: NodeJS.Timeout | undefined;
  private readonly keepAlive: LeaseKeepAlive;
  private readonly ended = new AbortController();
  /** Resolves with the reason when the session is lost; never rejects. */
  readonly lost: Promise<CairnError>;
  private resolveLost: (err: CairnError) => void = () => undefined;

  private constructor(
    readonly client: SessionClient,
    /** The session's lease id. */
    readonly leaseId: bigint,
    /** The lease's TTL in seconds. */
    readonly ttl: number,
    grantedAt: number,
  ) {
    super();
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
    this.expireAt(grantedAt + ttl * 1000);
    this.keepAlive = client.lease.keepAlive(leaseId);
    void this.follow();
  }

  /** Grants (or adopts) the lease and starts keeping it alive. */
  static async create(client: SessionClient, options: SessionOptions = {}): Promise<Session> {
    const sentAt = Date.now();
    if (options.leaseId !== undefined) {
      const leaseId = toBigInt(options.leaseId, 'lease');
      const ttl = await client.lease.timeToLive(leaseId);
      if (ttl.ttl <= 0) throw leaseNotFound(leaseId);
      return new Session(client, leaseId, ttl.grantedTtl, sentAt);
    }
    // A grant whose outcome is unknown (a leader change while it was in flight) is granted
    // again: the worst a repeat leaves is an unused lease with no keys, which expires after
    // its TTL. Without this, a session started during an election would fail for nothing.
    const granted = await client.lease.grant(options.ttl ?? DEFAULT_SESSION_TTL, { retryUnsafe: true });
    return new Session(client, granted.id, granted.ttl, sentAt);
  }

  /** The lease id in lowercase hex: the suffix of this session's lock and election keys. */
  get leaseHex(): string {
    return this.leaseId.toString(16);
  }

  get isLost(): boolean {
    return this.lostError !== undefined;
  }

  /** Aborted when the session is lost or closed: recipes stop waiting on it. */
  get signal(): AbortSignal {
    return this.ended.signal;
  }

  /** Why the session ended (lost, or closed), for errors of waits it cut short. */
  endedError(): CairnError {
    return this.lostError ?? new CairnError({ code: status.CANCELLED, message: 'the session is closed' });
  }

  /** Puts `key` bound to this session's lease: it disappears when the session does. */
  register(key: Bytes, value: Bytes, options: InvokeOptions = {}): Promise<PutResult> {
    if (this.ended.signal.aborted) return Promise.reject(this.endedError());
    return this.client.put(key, value, { ...options, lease: this.leaseId });
  }

  /** Stops the keep-alive and revokes the lease, deleting every key bound to it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wasLost = this.isLost;
    this.stop();
    try {
      await this.client.lease.revoke(this.leaseId);
    } catch (err) {
      // Already gone is what close wants. A session lost because no member could be
      // reached may still have its lease on the server: revoking it then is best effort.
      if (wasLost || toCairnError(err).cairnCode === ErrorCode.ERROR_CODE_LEASE_NOT_FOUND) return;
      throw err;
    }
  }

  private stop(): void {
    clearTimeout(this.expiry);
    this.keepAlive.close();
    this.ended.abort();
  }

  private expireAt(deadline: number): void {
    clearTimeout(this.expiry);
    this.expiry = setTimeout(
      () =>
        this.lose(
          new CairnError({
            code: status.DEADLINE_EXCEEDED,
            message: `session lost: lease ${this.leaseHex} was not renewed within its TTL of ${this.ttl} s`,
          }),
        ),
      Math.max(0, deadline - Date.now()),
    );
    this.expiry.unref();
  }

  private async follow(): Promise<void> {
    try {
      for await (const renewal of this.keepAlive) this.expireAt(renewal.sentAt + renewal.ttl * 1000);
    } catch (err) {
      this.lose(toCairnError(err));
    }
  }

  private lose(error: CairnError): void {
    if (this.closed || this.lostError !== undefined) return;
    this.lostError = error;
    this.stop();
    this.resolveLost(error);
    this.emit('lost', error);
  }
}
