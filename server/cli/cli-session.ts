/**
 * A session for `cairn lock` and `cairn elect`: one lease kept alive about every TTL/3 on a
 * LeaseKeepAlive stream. It is lost when a renewal is answered with ttl <= 0 (the lease is
 * gone) or when no renewal was answered before the lease would have expired. This is the
 * CLI's own copy of the SDK's session (server/ must not import sdk/); the key layout it
 * serves is in docs/recipes.md.
 */
import { Metadata, status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { LeaseServiceClient } from '../../gen/ts/cairn/v1/lease.js';
import {
  type LeaseGrantResponse,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseRevokeResponse,
} from '../../gen/ts/cairn/v1/lease.js';
import type { CliClient } from './client.js';
import { CliError, isServiceError } from './errors.js';

/** How long one renewal may go unanswered before the stream is moved to another endpoint. */
const ANSWER_TIMEOUT_MS = 2000;

export class CliSession {
  private closed = false;
  private lostReason: CliError | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private call: ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> | undefined;
  private readonly ended = new AbortController();

  private constructor(
    private readonly client: CliClient,
    readonly leaseId: number,
    readonly ttl: number,
    grantedAt: number,
    private readonly onLost: (reason: CliError) => void,
  ) {
    this.expireAt(grantedAt + ttl * 1000);
    void this.keepAlive();
  }

  static async start(client: CliClient, ttl: number, onLost: (reason: CliError) => void): Promise<CliSession> {
    const sentAt = Date.now();
    const lease = await client.leaseClient();
    const res = await new Promise<LeaseGrantResponse>((resolve, reject) =>
      lease.leaseGrant({ ttl, id: 0 }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    return new CliSession(client, res.id, res.ttl, sentAt, onLost);
  }

  /** The lease id in lowercase hex, the suffix of the session's queue keys. */
  get leaseHex(): string {
    return this.leaseId.toString(16);
  }

  /** Aborted when the session is lost or closed. */
  get signal(): AbortSignal {
    return this.ended.signal;
  }

  get lost(): CliError | undefined {
    return this.lostReason;
  }

  /** Stops renewing and revokes the lease (deleting the session's keys). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    // A session lost because no endpoint answered may still have its lease: revoke it
    // anyway, best effort then.
    const bestEffort = this.lostReason !== undefined;
    try {
      const lease = await this.client.leaseClient();
      await new Promise<LeaseRevokeResponse | undefined>((resolve, reject) =>
        lease.leaseRevoke({ id: this.leaseId }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, r) =>
          // Gone already is what close wants.
          err && !bestEffort && !(isServiceError(err) && err.code === status.NOT_FOUND) ? reject(err) : resolve(r),
        ),
      );
    } catch (err) {
      if (!bestEffort) throw err;
    } finally {
      this.client.close();
    }
  }

  private stop(): void {
    clearTimeout(this.expiry);
    this.call?.cancel();
    this.ended.abort();
  }

  private lose(reason: string): void {
    if (this.closed || this.lostReason !== undefined) return;
    this.lostReason = new CliError(`session lost: ${reason}`);
    this.stop();
    this.onLost(this.lostReason);
  }

  private expireAt(deadline: number): void {
    clearTimeout(this.expiry);
    this.expiry = setTimeout(
      () => this.lose(`lease ${this.leaseHex} was not renewed within its TTL of ${this.ttl} s`),
      Math.max(0, deadline - Date.now()),
    );
  }

  /** Keeps a keep-alive stream going, on the next endpoint whenever one fails or hangs. */
  private async keepAlive(): Promise<void> {
    while (!this.ended.signal.aborted) {
      try {
        await this.stream(await this.client.leaseClient());
      } catch {
        // Renewals go on elsewhere; the expiry timer decides when it is too late.
      }
      if (this.ended.signal.aborted) return;
      this.client.failover();
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private stream(lease: LeaseServiceClient): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = lease.leaseKeepAlive();
      this.call = call;
      let sentAt = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        call.removeAllListeners('data');
        call.cancel();
        settle();
      };
      const send = (): void => {
        sentAt = Date.now();
        call.write({ id: this.leaseId });
        timer = setTimeout(() => finish(resolve), ANSWER_TIMEOUT_MS);
      };
      call.on('data', (res: LeaseKeepAliveResponse) => {
        clearTimeout(timer);
        if (res.ttl <= 0) {
          this.lose(`lease ${this.leaseHex} expired or was revoked`);
          return finish(resolve);
        }
        this.expireAt(sentAt + res.ttl * 1000);
        timer = setTimeout(send, (res.ttl * 1000) / 3);
      });
      call.on('error', (err) => finish(() => reject(err)));
      call.on('end', () => finish(resolve));
      send();
    });
  }
}
