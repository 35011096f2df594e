/**
 * etcd's v3 API as a client sees it, through the grpc-js clients generated from etcd's own
 * protos (gen/ts/etcd): promisified KV and Lease calls taking partial requests, and a watch
 * stream collector. For tests of the member's etcd-compatible services (server/api/etcd/).
 *
 *   const etcd = new EtcdClients(t, node.address);
 *   await etcd.put({ key: b('a'), value: b('1') });
 *   const w = etcd.openWatch();
 *   const id = await w.create({ key: b('a') });
 */
import { credentials, Metadata, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import {
  CompactionRequest,
  DeleteRangeRequest,
  KVClient,
  LeaseClient,
  LeaseGrantRequest,
  LeaseTimeToLiveRequest,
  PutRequest,
  RangeRequest,
  TxnRequest,
  WatchClient,
  WatchCreateRequest,
  type CompactionResponse,
  type DeleteRangeResponse,
  type LeaseGrantResponse,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveResponse,
  type PutResponse,
  type RangeResponse,
  type RangeStreamResponse,
  type TxnResponse,
  type WatchRequest,
  type WatchResponse,
} from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { MIN_WAIT_MS, waitUntil } from './wait.js';

type DeepPartialOf<T> = T extends Buffer
  ? T
  : T extends (infer U)[]
    ? DeepPartialOf<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartialOf<T[K]> }
      : T;

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;
function call<Res>(invoke: (cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res!))));
}

export class EtcdClients {
  readonly kv: KVClient;
  readonly lease: LeaseClient;
  readonly watchClient: WatchClient;
  private readonly metadata = new Metadata();

  /** token: sent in the "token" metadata of every call, as etcd's clients send it. */
  constructor(
    t: ExecutionContext,
    readonly address: string,
    token?: string,
  ) {
    if (token !== undefined) this.metadata.set('token', token);
    const creds = credentials.createInsecure();
    this.kv = new KVClient(address, creds);
    // The other clients share the KV client's channel.
    const options = { channelOverride: this.kv.getChannel() };
    this.lease = new LeaseClient(address, creds, options);
    this.watchClient = new WatchClient(address, creds, options);
    t.teardown(() => {
      this.lease.close();
      this.watchClient.close();
      this.kv.close();
    });
  }

  range(r: DeepPartialOf<RangeRequest>): Promise<RangeResponse> {
    return call((cb) => this.kv.range(RangeRequest.fromPartial(r), this.metadata, cb));
  }
  /** RangeStream's chunks, in order; rejects with the stream's error status. */
  rangeStream(r: DeepPartialOf<RangeRequest>): Promise<RangeResponse[]> {
    return new Promise((resolve, reject) => {
      const chunks: RangeResponse[] = [];
      const stream = this.kv.rangeStream(RangeRequest.fromPartial(r), this.metadata);
      stream.on('data', (chunk: RangeStreamResponse) => chunks.push(chunk.rangeResponse!));
      stream.on('error', reject);
      stream.on('end', () => resolve(chunks));
    });
  }
  put(r: DeepPartialOf<PutRequest>): Promise<PutResponse> {
    return call((cb) => this.kv.put(PutRequest.fromPartial(r), this.metadata, cb));
  }
  deleteRange(r: DeepPartialOf<DeleteRangeRequest>): Promise<DeleteRangeResponse> {
    return call((cb) => this.kv.deleteRange(DeleteRangeRequest.fromPartial(r), this.metadata, cb));
  }
  txn(r: DeepPartialOf<TxnRequest>): Promise<TxnResponse> {
    return call((cb) => this.kv.txn(TxnRequest.fromPartial(r as never), this.metadata, cb));
  }
  compact(r: DeepPartialOf<CompactionRequest>): Promise<CompactionResponse> {
    return call((cb) => this.kv.compact(CompactionRequest.fromPartial(r), this.metadata, cb));
  }

  grant(TTL: number, ID = 0): Promise<LeaseGrantResponse> {
    return call((cb) => this.lease.leaseGrant(LeaseGrantRequest.fromPartial({ TTL, ID }), this.metadata, cb));
  }
  revoke(ID: number): Promise<LeaseRevokeResponse> {
    return call((cb) => this.lease.leaseRevoke({ ID }, this.metadata, cb));
  }
  timeToLive(ID: number, keys = false): Promise<LeaseTimeToLiveResponse> {
    return call((cb) => this.lease.leaseTimeToLive(LeaseTimeToLiveRequest.fromPartial({ ID, keys }), this.metadata, cb));
  }
  leases(): Promise<LeaseLeasesResponse> {
    return call((cb) => this.lease.leaseLeases({}, this.metadata, cb));
  }
  /** A keep-alive stream: send ids, read the answers in order. */
  keepAlive(): KeepAliveSession {
    return new KeepAliveSession(this.lease.leaseKeepAlive(this.metadata));
  }

  openWatch(t: ExecutionContext): EtcdWatchSession {
    const session = new EtcdWatchSession(this.watchClient.watch(this.metadata));
    t.teardown(() => session.call.cancel());
    return session;
  }
}

export class KeepAliveSession {
  private readonly answers: LeaseKeepAliveResponse[] = [];
  private readonly waiting: ((r: LeaseKeepAliveResponse) => void)[] = [];
  error: ServiceError | undefined;

  constructor(readonly call: ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>) {
    call.on('data', (r: LeaseKeepAliveResponse) => {
      const next = this.waiting.shift();
      if (next !== undefined) next(r);
      else this.answers.push(r);
    });
    call.on('error', (err: ServiceError) => (this.error = err));
  }

  /** Sends one keep-alive and resolves with its answer. */
  renew(ID: number): Promise<LeaseKeepAliveResponse> {
    const answer = new Promise<LeaseKeepAliveResponse>((resolve) => {
      const ready = this.answers.shift();
      if (ready !== undefined) resolve(ready);
      else this.waiting.push(resolve);
    });
    this.call.write({ ID });
    return answer;
  }

  close(): void {
    this.call.end();
  }
}

export class EtcdWatchSession {
  readonly responses: WatchResponse[] = [];
  error: ServiceError | undefined;
  private readonly pendingCreates: ((r: WatchResponse) => void)[] = [];

  constructor(readonly call: ClientDuplexStream<WatchRequest, WatchResponse>) {
    call.on('data', (r: WatchResponse) => {
      this.responses.push(r);
      if (r.created) this.pendingCreates.shift()?.(r);
    });
    call.on('error', (err: ServiceError) => (this.error = err));
  }

  /** Sends a create request and waits for its `created` reply (which may also be canceled). */
  createRaw(req: DeepPartialOf<WatchCreateRequest>, timeoutMs = MIN_WAIT_MS): Promise<WatchResponse> {
    const reply = new Promise<WatchResponse>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no created reply within ${timeoutMs} ms`)), timeoutMs);
      this.pendingCreates.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.call.write({ requestUnion: { $case: 'createRequest', createRequest: WatchCreateRequest.fromPartial(req) } });
    return reply;
  }

  async create(req: DeepPartialOf<WatchCreateRequest>): Promise<number> {
    const r = await this.createRaw(req);
    if (r.canceled) throw new Error(`watch was refused: ${r.cancelReason}`);
    return r.watchId;
  }

  cancel(watchId: number): void {
    this.call.write({ requestUnion: { $case: 'cancelRequest', cancelRequest: { watchId } } });
  }

  requestProgress(): void {
    this.call.write({ requestUnion: { $case: 'progressRequest', progressRequest: {} } });
  }

  events(watchId: number): WatchResponse['events'] {
    return this.responses.filter((r) => r.watchId === watchId).flatMap((r) => r.events);
  }

  /** Waits for the first response (after those already seen) that matches. */
  async waitFor(match: (r: WatchResponse) => boolean, what: string, timeoutMs = MIN_WAIT_MS): Promise<WatchResponse> {
    let found: WatchResponse | undefined;
    await waitUntil(
      () => (found = this.responses.find(match)) !== undefined || this.error !== undefined,
      timeoutMs,
      () => `no watch response: ${what}; got ${JSON.stringify(this.responses).slice(0, 800)}`,
    );
    if (found === undefined) throw new Error(`watch stream failed while waiting for ${what}: ${this.error?.message}`);
    return found;
  }

  async waitForEvents(watchId: number, count: number, timeoutMs = MIN_WAIT_MS): Promise<WatchResponse['events']> {
    await waitUntil(
      () => this.events(watchId).length >= count || this.error !== undefined,
      timeoutMs,
      () => `watch ${watchId}: ${this.events(watchId).length} of ${count} events`,
    );
    if (this.error !== undefined) throw this.error;
    return this.events(watchId);
  }
}
