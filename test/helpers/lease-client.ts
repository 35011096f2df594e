/**
 * Promisified LeaseService calls for tests, and a keep-alive stream that collects answers.
 *
 *   const leases = new Leases(address);
 *   const { id } = await leases.grant(10);
 *   const ka = leases.keepAlive();
 *   const r = await ka.renew(id);        // r.ttl
 */
import { credentials, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  LeaseServiceClient,
  type LeaseGrantResponse,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveResponse,
} from '../../gen/ts/cairn/v1/lease.js';

export class Leases {
  readonly client: LeaseServiceClient;

  /** `creds`/`options`: TLS, and interceptors that add a token (auth-clients.ts's tokenInterceptor). */
  constructor(address: string, creds: ChannelCredentials = credentials.createInsecure(), options: ChannelOptions = {}) {
    this.client = new LeaseServiceClient(address, creds, options);
  }

  grant(ttl: number, id = 0): Promise<LeaseGrantResponse> {
    return call((cb) => this.client.leaseGrant({ ttl, id }, cb));
  }

  revoke(id: number): Promise<LeaseRevokeResponse> {
    return call((cb) => this.client.leaseRevoke({ id }, cb));
  }

  timeToLive(id: number, keys = false): Promise<LeaseTimeToLiveResponse> {
    return call((cb) => this.client.leaseTimeToLive({ id, keys }, cb));
  }

  list(): Promise<LeaseLeasesResponse> {
    return call((cb) => this.client.leaseLeases({}, cb));
  }

  keepAlive(): KeepAliveSession {
    return new KeepAliveSession(this.client.leaseKeepAlive());
  }

  close(): void {
    this.client.close();
  }
}

/** One keep-alive stream; renew() sends a request and resolves with the next answer for that id. */
export class KeepAliveSession {
  private readonly waiting: { id: number; resolve: (r: LeaseKeepAliveResponse) => void; reject: (e: unknown) => void }[] = [];
  error: ServiceError | undefined;

  constructor(readonly stream: ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>) {
    stream.on('data', (r: LeaseKeepAliveResponse) => {
      const at = this.waiting.findIndex((w) => w.id === r.id);
      if (at >= 0) this.waiting.splice(at, 1)[0]!.resolve(r);
    });
    stream.on('error', (err: ServiceError) => {
      this.error = err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    });
  }

  renew(id: number): Promise<LeaseKeepAliveResponse> {
    return new Promise((resolve, reject) => {
      if (this.error !== undefined) return reject(this.error);
      this.waiting.push({ id, resolve, reject });
      this.stream.write({ id });
    });
  }

  close(): void {
    this.stream.cancel();
  }
}

function call<T>(invoke: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}
