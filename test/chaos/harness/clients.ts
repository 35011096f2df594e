/** gRPC clients for chaos runs: promisified calls with deadlines, and quick reconnects. */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
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

  constructor(
    readonly member: string,
    address: string,
  ) {
    this.kv = new KVServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
    this.maintenance = new MaintenanceServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
    this.watch = new WatchServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
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

  close(): void {
    this.kv.close();
    this.maintenance.close();
    this.watch.close();
  }
}

/** One client per member, opened lazily; closed together. */
export class ClientPool {
  private readonly clients = new Map<string, MemberClient>();
  constructor(private readonly addresses: ReadonlyMap<string, string>) {}

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
