/** gRPC clients for chaos runs: promisified calls with deadlines, and quick reconnects. */
import { credentials, Metadata, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  DeleteRangeRequest,
  KVServiceClient,
  PutRequest,
  RangeRequest,
  TxnRequest,
  type DeepPartial,
  type DeleteRangeResponse,
  type PutResponse,
  type RangeResponse,
  type TxnResponse,
} from '../../../gen/ts/cairn/v1/kv.js';
import {
  HashKVRequest,
  MaintenanceServiceClient,
  StatusRequest,
  type HashKVResponse,
  type StatusResponse,
} from '../../../gen/ts/cairn/v1/maintenance.js';
import {
  LeaseGrantRequest,
  LeaseLeasesRequest,
  LeaseRevokeRequest,
  LeaseServiceClient,
  type LeaseGrantResponse,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
} from '../../../gen/ts/cairn/v1/lease.js';
import { WatchServiceClient } from '../../../gen/ts/cairn/v1/watch.js';

/** Members come back within seconds; the default backoff (up to 2 min) would outlast runs. */
const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

function call<Req, Res>(fn: Unary<Req, Res>, req: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export class MemberClient {
  readonly kv: KVServiceClient;
  readonly maintenance: MaintenanceServiceClient;
  readonly watch: WatchServiceClient;
  readonly lease: LeaseServiceClient;
  private keepAlive: KeepAliveStream | undefined;

  constructor(
    readonly member: string,
    address: string,
  ) {
    this.kv = new KVServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
    this.maintenance = new MaintenanceServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
    this.watch = new WatchServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
    this.lease = new LeaseServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  range(req: DeepPartial<RangeRequest>, timeoutMs: number): Promise<RangeResponse> {
    return call<RangeRequest, RangeResponse>((r, md, o, cb) => this.kv.range(r, md, o, cb), RangeRequest.fromPartial(req), timeoutMs);
  }
  put(req: DeepPartial<PutRequest>, timeoutMs: number): Promise<PutResponse> {
    return call<PutRequest, PutResponse>((r, md, o, cb) => this.kv.put(r, md, o, cb), PutRequest.fromPartial(req), timeoutMs);
  }
  deleteRange(req: DeepPartial<DeleteRangeRequest>, timeoutMs: number): Promise<DeleteRangeResponse> {
    return call<DeleteRangeRequest, DeleteRangeResponse>(
      (r, md, o, cb) => this.kv.deleteRange(r, md, o, cb),
      DeleteRangeRequest.fromPartial(req),
      timeoutMs,
    );
  }
  txn(req: DeepPartial<TxnRequest>, timeoutMs: number): Promise<TxnResponse> {
    return call<TxnRequest, TxnResponse>((r, md, o, cb) => this.kv.txn(r, md, o, cb), TxnRequest.fromPartial(req), timeoutMs);
  }
  status(timeoutMs: number): Promise<StatusResponse> {
    return call<StatusRequest, StatusResponse>(
      (r, md, o, cb) => this.maintenance.status(r, md, o, cb),
      StatusRequest.fromPartial({}),
      timeoutMs,
    );
  }
  hashKv(revision: number, timeoutMs: number): Promise<HashKVResponse> {
    return call<HashKVRequest, HashKVResponse>(
      (r, md, o, cb) => this.maintenance.hashKv(r, md, o, cb),
      HashKVRequest.fromPartial({ revision }),
      timeoutMs,
    );
  }

  leaseGrant(id: number, ttl: number, timeoutMs: number): Promise<LeaseGrantResponse> {
    return call<LeaseGrantRequest, LeaseGrantResponse>(
      (r, md, o, cb) => this.lease.leaseGrant(r, md, o, cb),
      LeaseGrantRequest.fromPartial({ id, ttl }),
      timeoutMs,
    );
  }
  leaseRevoke(id: number, timeoutMs: number): Promise<LeaseRevokeResponse> {
    return call<LeaseRevokeRequest, LeaseRevokeResponse>(
      (r, md, o, cb) => this.lease.leaseRevoke(r, md, o, cb),
      LeaseRevokeRequest.fromPartial({ id }),
      timeoutMs,
    );
  }
  leaseLeases(timeoutMs: number): Promise<LeaseLeasesResponse> {
    return call<LeaseLeasesRequest, LeaseLeasesResponse>(
      (r, md, o, cb) => this.lease.leaseLeases(r, md, o, cb),
      LeaseLeasesRequest.fromPartial({}),
      timeoutMs,
    );
  }
  /** One renewal on this member's keep-alive stream (opened on first use, again after an error). */
  keepAliveOnce(id: number, timeoutMs: number): Promise<LeaseKeepAliveResponse> {
    this.keepAlive ??= new KeepAliveStream(this.lease.leaseKeepAlive(), () => (this.keepAlive = undefined));
    return this.keepAlive.renew(id, timeoutMs);
  }

  close(): void {
    this.keepAlive?.close();
    this.kv.close();
    this.maintenance.close();
    this.watch.close();
    this.lease.close();
  }
}

/**
 * A keep-alive stream used one renewal at a time (a workload client runs one op at a time):
 * each request is answered by the next response. Any error or a missed deadline ends the
 * stream, so a late answer can never be taken for the next renewal's.
 */
class KeepAliveStream {
  private pending: { resolve: (r: LeaseKeepAliveResponse) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly stream: ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>,
    private readonly onEnd: () => void,
  ) {
    stream.on('data', (r: LeaseKeepAliveResponse) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(r);
    });
    stream.on('error', (err: Error) => this.end(err));
    stream.on('end', () => this.end(Object.assign(new Error('keep-alive stream ended'), { code: 14, details: 'stream ended' })));
  }

  renew(id: number, timeoutMs: number): Promise<LeaseKeepAliveResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.end(Object.assign(new Error('keep-alive deadline exceeded'), { code: 4, details: 'Deadline exceeded' }));
      }, timeoutMs);
      this.pending = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.stream.write({ id });
    });
  }

  close(): void {
    this.end(new Error('closed'));
  }

  private end(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.onEnd();
    this.stream.cancel();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }
}

/** One client per member, opened lazily; closed together. */
export class ClientPool {
  private readonly clients = new Map<string, MemberClient>();
  private readonly addresses: Map<string, string>;
  constructor(addresses: ReadonlyMap<string, string>) {
    this.addresses = new Map(addresses);
  }
  /** A member added to the cluster. */
  add(member: string, address: string): void {
    this.addresses.set(member, address);
  }
  /** A member removed from the cluster: no longer among the names. */
  remove(member: string): void {
    this.addresses.delete(member);
    this.clients.get(member)?.close();
    this.clients.delete(member);
  }

  get names(): string[] {
    return [...this.addresses.keys()];
  }

  get(member: string): MemberClient {
    let c = this.clients.get(member);
    if (!c) this.clients.set(member, (c = new MemberClient(member, this.addresses.get(member)!)));
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

export const isServiceError = (err: unknown): err is ServiceError => typeof (err as ServiceError | undefined)?.code === 'number';
