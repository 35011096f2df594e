/**
 * One member's connection: one gRPC channel shared by the service stubs of that member.
 */
import { connectivityState, status, type ServiceError } from '@grpc/grpc-js';
import { AuthServiceClient } from '../gen/cairn/v1/auth.js';
import { KVServiceClient } from '../gen/cairn/v1/kv.js';
import { WatchServiceClient } from '../gen/cairn/v1/watch.js';
import { ClusterServiceClient } from '../gen/cairn/v1/cluster.js';
import { MaintenanceServiceClient } from '../gen/cairn/v1/maintenance.js';
import { LeaseServiceClient } from '../gen/cairn/v1/lease.js';
import { CairnError } from './errors.js';
import { tracingInterceptor } from './tracing.js';
import type { Transport } from './tls.js';

const interceptors = [tracingInterceptor];

export class MemberConnection {
  readonly kv: KVServiceClient;
  readonly watch: WatchServiceClient;
  readonly cluster: ClusterServiceClient;
  readonly maintenance: MaintenanceServiceClient;
  readonly lease: LeaseServiceClient;
  readonly auth: AuthServiceClient;

  constructor(
    readonly address: string,
    private readonly transport: Transport,
  ) {
    const creds = transport.credentials;
    this.kv = new KVServiceClient(address, creds, {
      ...transport.channelOptions,
      // Fail fast while a member is down rather than waiting for it to come back:
      // the client would rather move to another member.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // Client spans and trace context, when the application has OpenTelemetry set up.
      interceptors,
    });
    const channelOverride = this.kv.getChannel();
    this.watch = new WatchServiceClient(address, creds, { channelOverride, interceptors });
    this.cluster = new ClusterServiceClient(address, creds, { channelOverride, interceptors });
    this.maintenance = new MaintenanceServiceClient(address, creds, { channelOverride, interceptors });
    this.lease = new LeaseServiceClient(address, creds, { channelOverride, interceptors });
    this.auth = new AuthServiceClient(address, creds, { channelOverride, interceptors });
  }

  get ready(): boolean {
    return this.kv.getChannel().getConnectivityState(false) === connectivityState.READY;
  }

  /**
   * Why the last connection attempt failed ("connection failed", "not connected within
   * 2000 ms"); undefined once connected. The pool names it when no member answered.
   */
  lastConnectFailure: string | undefined;

  /**
   * Resolves once the channel is connected; rejects with a not-sent CairnError when it is
   * not within timeoutMs, and at once when the attempt fails (refused, unreachable):
   * nothing listens there, so waiting out the timeout would only delay trying another member.
   */
  connect(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    const channel = this.kv.getChannel();
    const deadline = Date.now() + Math.max(1, timeoutMs);
    return new Promise((resolve, reject) => {
      const fail = (reason: string, cause?: Error): void => {
        this.lastConnectFailure = reason;
        reject(
          new CairnError({
            code: status.UNAVAILABLE,
            message: `${this.address}: ${reason}${this.hint()}`,
            endpoint: this.address,
            notSent: true,
            cause,
          }),
        );
      };
      const check = (): void => {
        const state = channel.getConnectivityState(true);
        if (state === connectivityState.READY) {
          this.lastConnectFailure = undefined;
          return resolve();
        }
        // The channel stays in TRANSIENT_FAILURE while it retries on its own backoff; it
        // turns READY when the member is back, which the pool's next attempt will see.
        if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) return fail('connection failed');
        channel.watchConnectivityState(state, deadline, (err?: Error) =>
          err === undefined ? check() : fail(`not connected within ${timeoutMs} ms`, err),
        );
      };
      check();
    });
  }

  /** Plaintext against a TLS member (or the reverse) looks like a dead member; say what to check. */
  hint(): string {
    return this.transport.secure
      ? ' (connecting with TLS: check that the member serves TLS, that its certificate chains to the CA given, and that a client certificate is given if it requires one)'
      : ' (connecting with plaintext: if the member serves TLS, give the tls option or CAIRN_CACERT, and a client certificate if it requires one)';
  }

  close(): void {
    // All the stubs share the channel; closing it once closes them all.
    this.kv.close();
  }
}

/** Adapts a grpc-js unary callback call to a promise. */
export function unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((err, res) => (err ? reject(err) : resolve(res)));
  });
}
