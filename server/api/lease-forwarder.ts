import { Metadata, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ErrorInfo, RpcStatus } from '../../gen/ts/cairn/v1/errors.js';
import {
  LeaseServiceClient,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
} from '../../gen/ts/cairn/v1/lease.js';
import { CairnError, ErrorCode } from '../errors.js';
import { STATUS_DETAILS_KEY } from './errors.js';

/**
 * Set on calls a follower forwards, so that a member that is not the leader either refuses
 * them instead of forwarding again. Under authentication the mark replaces the user check
 * (the follower checked its client), so the leader honours it only from a member: with TLS
 * the forwarder dials with its member certificate (see Authorizer, MemberCheck).
 */
export const FORWARDED_HEADER = 'cairn-lease-forwarded';

/** Whether a call came forwarded by a follower, and so is answered here or refused, never forwarded again. */
export function isForwarded(call: { metadata: Metadata }): boolean {
  return call.metadata.get(FORWARDED_HEADER).length > 0;
}

interface Waiter {
  resolve: (ttl: number) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

/**
 * Sends the keep-alives and time-to-live requests a follower receives to the leader, whose
 * clock alone knows the deadlines. Why a client of the leader's own LeaseService, and not a
 * new peer RPC: the leader's address is in the cluster config (members serve peers and
 * clients on one port), the public RPCs already say everything needed, and no internal
 * protocol has to be kept in step. All keep-alives of this member share ONE stream to the
 * leader (not one per client stream), so 10,000 clients on a follower cost one stream; the
 * answers carry the lease id, so they are matched by id in order. At most maxInFlight
 * requests wait for answers at once; beyond that a request fails at once (the client's
 * own stream is paused well before, by its per-stream bound). When the leader changes or
 * the stream breaks, every waiting request fails with NO_LEADER and the client retries.
 */
export class LeaseForwarder {
  private target: { address: string; client: LeaseServiceClient } | undefined;
  private stream: ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> | undefined;
  private readonly waiting = new Map<number, Waiter[]>();
  private inFlight = 0;

  constructor(
    private readonly maxInFlight: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    /** How to dial the leader: with TLS, the member's peer credentials (its member certificate). */
    private readonly channelCredentials: ChannelCredentials,
  ) {}

  keepAlive(leaderAddress: string, id: number): Promise<number> {
    this.admit();
    const stream = this.streamTo(leaderAddress);
    return new Promise<number>((resolve, reject) => {
      this.inFlight++;
      const timer = setTimeout(() => this.settle(id, waiter, undefined, timeoutError(this.timeoutMs)), this.timeoutMs);
      timer.unref();
      const waiter: Waiter = { resolve, reject, timer };
      const queue = this.waiting.get(id);
      if (queue === undefined) this.waiting.set(id, [waiter]);
      else queue.push(waiter);
      stream.write({ id });
    });
  }

  timeToLive(leaderAddress: string, request: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    this.admit();
    const { client } = this.clientFor(leaderAddress);
    this.inFlight++;
    return new Promise<LeaseTimeToLiveResponse>((resolve, reject) => {
      client.leaseTimeToLive(request, forwardedMetadata(), { deadline: Date.now() + this.timeoutMs }, (err, response) => {
        this.inFlight--;
        if (err) reject(fromServiceError(err));
        else resolve(response);
      });
    });
  }

  close(): void {
    this.dropStream(new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the member is shutting down'));
    this.target?.client.close();
    this.target = undefined;
  }

  private admit(): void {
    if (this.inFlight >= this.maxInFlight) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_TOO_MANY_LEASE_FORWARDS,
        `${this.inFlight} lease requests are already being forwarded to the leader (--max-lease-forwards); retry, or connect to the leader`,
      );
    }
  }

  private clientFor(address: string): { address: string; client: LeaseServiceClient } {
    if (this.target?.address !== address) {
      this.dropStream(new CairnError(ErrorCode.ERROR_CODE_NO_LEADER, 'the leader changed; retry'));
      this.target?.client.close();
      this.target = { address, client: new LeaseServiceClient(address, this.channelCredentials) };
    }
    return this.target;
  }

  private streamTo(address: string): ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
    const { client } = this.clientFor(address);
    if (this.stream !== undefined) return this.stream;
    const stream = client.leaseKeepAlive(forwardedMetadata());
    this.stream = stream;
    stream.on('data', (response: LeaseKeepAliveResponse) => {
      const waiter = this.waiting.get(response.id)?.[0];
      if (waiter !== undefined) this.settle(response.id, waiter, response.ttl, undefined);
    });
    const broken = (err?: unknown): void => {
      if (this.stream !== stream) return;
      this.logger.debug({ err, address }, 'keep-alive stream to the leader ended');
      this.dropStream(err instanceof Error && 'code' in err ? fromServiceError(err as ServiceError) : noLeader());
    };
    stream.on('error', broken);
    stream.on('end', () => broken());
    return stream;
  }

  private settle(id: number, waiter: Waiter, ttl: number | undefined, err: unknown): void {
    const queue = this.waiting.get(id);
    const at = queue?.indexOf(waiter) ?? -1;
    if (queue === undefined || at < 0) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.waiting.delete(id);
    this.inFlight--;
    clearTimeout(waiter.timer);
    if (ttl !== undefined) waiter.resolve(ttl);
    else waiter.reject(err);
  }

  private dropStream(err: unknown): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    for (const [id, queue] of [...this.waiting]) for (const waiter of [...queue]) this.settle(id, waiter, undefined, err);
  }
}

function forwardedMetadata(): Metadata {
  const metadata = new Metadata();
  metadata.set(FORWARDED_HEADER, '1');
  return metadata;
}

function noLeader(): CairnError {
  return new CairnError(ErrorCode.ERROR_CODE_NO_LEADER, 'lost the connection to the leader while forwarding a lease request; retry');
}

function timeoutError(ms: number): CairnError {
  return new CairnError(ErrorCode.ERROR_CODE_TIMEOUT, `the leader did not answer a forwarded lease request within ${ms} ms`);
}

/** The leader's answer, passed on as the same domain error; transport failures mean no usable leader. */
function fromServiceError(err: ServiceError): CairnError {
  const details = err.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (details instanceof Buffer) {
    const info = RpcStatus.decode(details).details[0];
    if (info !== undefined) {
      const code = ErrorInfo.decode(info.value).code;
      if (code !== ErrorCode.ERROR_CODE_UNSPECIFIED && code !== ErrorCode.UNRECOGNIZED) {
        return new CairnError(code, err.details);
      }
    }
  }
  return new CairnError(ErrorCode.ERROR_CODE_NO_LEADER, `forwarding to the leader failed (${err.details || err.message}); retry`);
}
