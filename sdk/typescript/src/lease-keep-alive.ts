/**
 * LeaseKeepAlive: renews one lease about every TTL/3 on a LeaseKeepAlive stream, moving
 * to another member when the one in use fails or stops answering. Iterate it for the
 * renewals (only the newest one waits for a slow consumer, so nothing piles up);
 * iteration throws NOT_FOUND once the server says the lease is gone. `close()` (or the
 * abort signal) stops it; it never revokes the lease.
 */
import { status, type ClientDuplexStream, type Metadata } from '@grpc/grpc-js';
import { isTokenRejected } from './auth.js';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse } from '../gen/cairn/v1/lease.js';
import { backoffDelay, sleep } from './backoff.js';
import { CairnError, ErrorCode, toCairnError } from './errors.js';
import { header, type Header } from './kv-types.js';
import type { MemberConnection } from './member.js';
import type { MemberPool } from './pool.js';

export interface KeepAliveResult {
  header: Header;
  id: bigint;
  /** The lease's remaining TTL in seconds after this renewal. */
  ttl: number;
  /** When the renewal was sent (ms since the epoch): the lease lives at least until sentAt + ttl s. */
  sentAt: number;
}

/** Before the first answer tells the TTL, renewals are judged unanswered after this long. */
const FIRST_ANSWER_MS = 2000;

/** Stream failures after which another member (or the same, later) may serve the renewals. */
const RECONNECTABLE = new Set<status>([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.UNKNOWN,
  status.CANCELLED,
  status.ABORTED,
]);

type Call = ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>;

export class LeaseKeepAlive implements AsyncIterableIterator<KeepAliveResult> {
  private latest: KeepAliveResult | undefined;
  private waiter: { resolve: (r: IteratorResult<KeepAliveResult>) => void; reject: (e: unknown) => void } | undefined;
  private failure: CairnError | undefined;
  private closed = false;
  private call: Call | undefined;
  private readonly stop = new AbortController();
  private readonly onAbort = (): void => this.close();
  private unregister: () => void = () => undefined;

  constructor(
    private readonly pool: MemberPool,
    readonly id: bigint,
    private readonly options: { dialTimeoutMs: number; signal?: AbortSignal | undefined },
  ) {
    if (options.signal?.aborted) this.closed = true;
    else {
      options.signal?.addEventListener('abort', this.onAbort, { once: true });
      this.unregister = pool.onClose(() => this.close());
      this.run().catch((err: unknown) => this.fail(toCairnError(err)));
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<KeepAliveResult>> {
    const latest = this.latest;
    if (latest !== undefined) {
      this.latest = undefined;
      return Promise.resolve({ value: latest, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<KeepAliveResult>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Stops renewing (the lease then expires after its TTL unless revoked or renewed elsewhere). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    this.unregister();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.call?.cancel();
    this.call = undefined;
    this.latest = undefined;
    this.waiter?.resolve({ value: undefined, done: true });
    this.waiter = undefined;
  }

  private fail(error: CairnError): void {
    if (this.closed) return;
    this.failure = error;
    const waiter = this.waiter;
    this.waiter = undefined;
    this.close();
    waiter?.reject(error);
  }

  private deliver(result: KeepAliveResult): void {
    if (this.waiter !== undefined) {
      this.waiter.resolve({ value: result, done: false });
      this.waiter = undefined;
    } else this.latest = result;
  }

  private async run(): Promise<void> {
    let reauthenticated = false;
    for (let attempt = 0; !this.closed; attempt++) {
      await this.pool.discover();
      if (this.closed) return;
      const member = this.pool.active;
      let answered = false;
      let metadata: Metadata | undefined;
      try {
        await member.connect(this.options.dialTimeoutMs);
        // The stream carries the user's token like every other call (authentication on).
        metadata = await this.pool.tokens.metadata(member, new Date(Date.now() + this.options.dialTimeoutMs));
        answered = await this.stream(member, metadata);
      } catch (err) {
        const error = toCairnError(err, member.address);
        // A refused token (expired, revoked): authenticate again and reopen here, once.
        if (metadata !== undefined && isTokenRejected(error) && !reauthenticated) {
          reauthenticated = true;
          this.pool.tokens.invalidate(metadata);
          attempt--;
          continue;
        }
        if (error.cairnCode === ErrorCode.ERROR_CODE_LEASE_NOT_FOUND) return this.fail(error);
        if (!error.isNotApplied && !RECONNECTABLE.has(error.code)) return this.fail(error);
      }
      if (this.closed) return;
      if (answered) attempt = 0; // A stream that worked: the next failure is a new incident.
      this.pool.failover(member);
      await sleep(backoffDelay(attempt), this.stop.signal);
    }
  }

  /**
   * One stream on one member: sends a renewal, waits for its answer, waits a third of the
   * TTL, and again. Resolves (true if anything was answered) when the member stops
   * answering in time; rejects on stream errors and when the lease is gone.
   */
  private stream(member: MemberConnection, metadata: Metadata): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const call = member.lease.leaseKeepAlive(metadata);
      this.call = call;
      let answered = false;
      let sentAt = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        call.removeAllListeners('data');
        if (this.call === call) this.call = undefined;
        call.cancel();
        settle();
      };
      const send = (answerWithinMs: number): void => {
        sentAt = Date.now();
        call.write({ id: this.id });
        // A member that hangs (not dead, just silent) would otherwise hold the lease hostage.
        timer = setTimeout(() => finish(() => resolve(answered)), answerWithinMs);
        timer.unref();
      };
      call.on('data', (res: LeaseKeepAliveResponse) => {
        clearTimeout(timer);
        if (this.closed) return finish(() => resolve(answered));
        if (res.ttl <= 0n) return finish(() => reject(leaseNotFound(this.id, member.address)));
        answered = true;
        this.deliver({ header: header(res.header), id: res.id, ttl: Number(res.ttl), sentAt });
        const intervalMs = Math.max(100, (Number(res.ttl) * 1000) / 3);
        timer = setTimeout(() => send(Math.min(Math.max(intervalMs, 1000), 5000)), intervalMs);
        timer.unref();
      });
      call.on('error', (err) => finish(() => reject(err)));
      call.on('end', () => finish(() => resolve(answered)));
      send(FIRST_ANSWER_MS);
    });
  }
}

/** The error for a lease the server says is gone: the code the server gives a put naming it. */
export function leaseNotFound(id: bigint, endpoint?: string): CairnError {
  return new CairnError({
    code: status.NOT_FOUND,
    message: `lease ${id.toString(16)} not found (expired or revoked)`,
    cairnCode: ErrorCode.ERROR_CODE_LEASE_NOT_FOUND,
    endpoint,
  });
}
