/**
 * In-process gRPC end-to-end helpers for test/api: start a node on a free loopback port
 * with a temporary data dir, promisified KV calls, and a watch-stream collector.
 *
 *   const n = await startApiNode(t, 'rocksdb', { limits: { maxTxnOps: 4 } });
 *   await n.kv.put({ key: b('a'), value: b('1') });
 *   const err = await grpcError(n.kv.put({ key: b('') }));       // ServiceError
 *   const w = n.openWatch();                                     // collects responses
 *   const id = await w.create({ key: b('a') });
 *   await w.waitForEvents(id, 1);
 *
 * Everything opened here is closed in t.teardown.
 */
import { credentials, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CompactRequest,
  DeleteRangeRequest,
  KVServiceClient,
  PutRequest,
  RangeRequest,
  TxnRequest,
  type CompactResponse,
  type DeleteRangeResponse,
  type PutResponse,
  type RangeResponse,
  type DeepPartial,
  type TxnResponse,
} from '../../gen/ts/cairn/v1/kv.js';
import { ErrorInfo, RpcStatus } from '../../gen/ts/cairn/v1/errors.js';
import { Event_EventType, type Event } from '../../gen/ts/cairn/v1/types.js';
import { WatchCreateRequest, WatchServiceClient, type WatchRequest, type WatchResponse } from '../../gen/ts/cairn/v1/watch.js';
import { DEFAULT_LIMITS, DEFAULT_NODE_OPTIONS, ENGINE_NAMES, type EngineName, type Limits, type NodeOptions } from '../../server/config.js';
import { startNode, type RunningNode } from '../../server/main.js';
import { MIN_WAIT_MS, waitUntil } from './wait.js';

export { ENGINE_NAMES, status };
export type { EngineName };

/** Bytes from a latin1 string (keys and values in tests are ASCII). */
export const b = (s: string): Buffer => Buffer.from(s, 'latin1');
/** A string from bytes, for readable assertions. */
export const s = (buf: Buffer | undefined): string => (buf === undefined ? '<undefined>' : buf.toString('latin1'));

/** Partial requests, as the generated fromPartial accepts them. */
export type RangeInput = DeepPartial<RangeRequest>;
export type PutInput = DeepPartial<PutRequest>;
export type DeleteInput = DeepPartial<DeleteRangeRequest>;
export type TxnInput = DeepPartial<TxnRequest>;
export type CompactInput = DeepPartial<CompactRequest>;
export type WatchCreateInput = DeepPartial<WatchCreateRequest>;

export { waitUntil };

/** Promisified KV calls taking partial requests. */
export class Kv {
  constructor(readonly client: KVServiceClient) {}

  range(req: RangeInput): Promise<RangeResponse> {
    return new Promise((resolve, reject) =>
      this.client.range(RangeRequest.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))),
    );
  }
  put(req: PutInput): Promise<PutResponse> {
    return new Promise((resolve, reject) => this.client.put(PutRequest.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))));
  }
  deleteRange(req: DeleteInput): Promise<DeleteRangeResponse> {
    return new Promise((resolve, reject) =>
      this.client.deleteRange(DeleteRangeRequest.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))),
    );
  }
  txn(req: TxnInput): Promise<TxnResponse> {
    return new Promise((resolve, reject) => this.client.txn(TxnRequest.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))));
  }
  compact(req: CompactInput): Promise<CompactResponse> {
    return new Promise((resolve, reject) =>
      this.client.compact(CompactRequest.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  /** Shorthands. */
  get(key: string, extra: Omit<RangeInput, 'key'> = {}): Promise<RangeResponse> {
    return this.range({ key: b(key), ...extra });
  }
  set(key: string, value: string | Buffer, extra: Omit<PutInput, 'key' | 'value'> = {}): Promise<PutResponse> {
    return this.put({ key: b(key), value: typeof value === 'string' ? b(value) : value, ...extra });
  }
  /** The current store revision, read from a Range header. */
  async revision(): Promise<number> {
    return (await this.range({ key: b('\0'), countOnly: true })).header!.revision;
  }
}

/** The ServiceError a call failed with; fails the test if it succeeded. */
export async function grpcError(call: Promise<unknown>): Promise<ServiceError> {
  try {
    const res = await call;
    throw new Error(`expected the call to fail, but it succeeded with ${JSON.stringify(res).slice(0, 300)}`);
  } catch (err) {
    if (typeof (err as ServiceError).code !== 'number') throw err;
    return err as ServiceError;
  }
}

/** The name of a gRPC status code, for readable assertion messages. */
export const statusName = (code: number): string => status[code] ?? String(code);

/**
 * The RpcStatus a failed call carries in grpc-status-details-bin, and the ErrorInfo in its
 * details; undefined when the call carried none. Decoded here from the wire, independently
 * of server/api/errors.ts, so that tests check what clients actually receive.
 */
export function errorDetails(err: ServiceError): { status: RpcStatus; info: ErrorInfo | undefined } | undefined {
  const raw = err.metadata?.get('grpc-status-details-bin')[0];
  if (raw === undefined || typeof raw === 'string') return undefined;
  return statusDetails(RpcStatus.decode(raw));
}

/** An RpcStatus with its ErrorInfo detail decoded (a failed call's, or WatchResponse.cancel_status). */
export function statusDetails(rpcStatus: RpcStatus): { status: RpcStatus; info: ErrorInfo | undefined } {
  const any = rpcStatus.details.find((d) => d.typeUrl === 'type.googleapis.com/cairn.v1.ErrorInfo');
  return { status: rpcStatus, info: any === undefined ? undefined : ErrorInfo.decode(any.value) };
}

/**
 * One client watch stream with every response collected in order. Creates resolve with
 * the watch id from the matching `created` reply (replies to creates come in request order).
 */
export class WatchSession {
  readonly responses: WatchResponse[] = [];
  error: ServiceError | undefined;
  ended = false;
  /** Called for every response as it arrives. */
  readonly listeners: ((r: WatchResponse) => void)[] = [];
  /** When false, responses are passed to listeners but not kept (for large volumes). */
  keep = true;
  private readonly pendingCreates: ((r: WatchResponse) => void)[] = [];

  constructor(readonly call: ClientDuplexStream<WatchRequest, WatchResponse>) {
    call.on('data', (r: WatchResponse) => {
      if (this.keep) this.responses.push(r);
      for (const listener of this.listeners) listener(r);
      if (r.created) this.pendingCreates.shift()?.(r);
    });
    call.on('error', (err: ServiceError) => (this.error = err));
    call.on('end', () => (this.ended = true));
  }

  send(req: WatchRequest): void {
    this.call.write(req);
  }

  /** Sends a create request and waits for its `created` reply (which may also be canceled). */
  async createRaw(req: WatchCreateInput, timeoutMs = MIN_WAIT_MS): Promise<WatchResponse> {
    const reply = new Promise<WatchResponse>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no created reply within ${timeoutMs} ms for ${JSON.stringify(req)}`)), timeoutMs);
      this.pendingCreates.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.send({ request: { $case: 'createRequest', createRequest: WatchCreateRequest.fromPartial(req) } });
    return reply;
  }

  /** Creates a watch that must be accepted; returns its id. */
  async create(req: WatchCreateInput): Promise<number> {
    const r = await this.createRaw(req);
    if (r.canceled) throw new Error(`watch was refused: ${r.cancelReason}`);
    return r.watchId;
  }

  cancel(watchId: number): void {
    this.send({ request: { $case: 'cancelRequest', cancelRequest: { watchId } } });
  }

  requestProgress(): void {
    this.send({ request: { $case: 'progressRequest', progressRequest: {} } });
  }

  /** Responses of one watch carrying events, in arrival order. */
  eventResponses(watchId: number): WatchResponse[] {
    return this.responses.filter((r) => r.watchId === watchId && r.events.length > 0);
  }

  events(watchId: number): Event[] {
    return this.eventResponses(watchId).flatMap((r) => r.events);
  }

  async waitFor(pred: (r: WatchResponse) => boolean, what: string, timeoutMs = 5_000): Promise<WatchResponse> {
    let found: WatchResponse | undefined;
    await waitUntil(
      () => (found = this.responses.find(pred)) !== undefined,
      timeoutMs,
      () => `${what}; responses so far: ${summarize(this.responses)}${this.error ? `; stream error: ${this.error.message}` : ''}`,
    );
    return found!;
  }

  async waitForEvents(watchId: number, count: number, timeoutMs = 5_000): Promise<Event[]> {
    await waitUntil(
      () => this.events(watchId).length >= count,
      timeoutMs,
      () => `watch ${watchId} to receive ${count} events (has ${this.events(watchId).length}); responses: ${summarize(this.responses)}`,
    );
    return this.events(watchId);
  }

  close(): void {
    this.call.cancel();
  }
}

/** A compact description of responses for failure messages. */
export function summarize(responses: WatchResponse[]): string {
  const shown = responses.slice(-20).map((r) => {
    const flags = [r.created && 'created', r.canceled && 'canceled', r.fragment && 'fragment'].filter(Boolean).join(',');
    const evs = r.events
      .map((e) => `${e.type === Event_EventType.EVENT_TYPE_PUT ? 'PUT' : 'DEL'} ${s(e.kv?.key)}@${e.kv?.modRevision}`)
      .join(' ');
    return `{id ${r.watchId} rev ${r.header?.revision}${flags ? ' ' + flags : ''}${r.cancelReason ? ` reason "${r.cancelReason}"` : ''}${evs ? ' [' + evs + ']' : ''}}`;
  });
  return `${responses.length > 20 ? `(${responses.length - 20} earlier) ` : ''}${shown.join(' ') || '(none)'}`;
}

export interface ApiNode {
  readonly node: RunningNode;
  readonly address: string;
  readonly dataDir: string;
  readonly kv: Kv;
  /** A new watch client (its own channel when `ownChannel`) and stream, closed at teardown. */
  readonly openWatch: (options?: { ownChannel?: boolean }) => WatchSession;
  /** A new KV client on its own channel, closed at teardown. */
  readonly newKv: () => Kv;
}

export interface ApiNodeOverrides {
  limits?: Partial<Limits>;
  watchProgressIntervalMs?: number;
  /** Any other node option (Raft log retention, timeouts). */
  node?: Partial<NodeOptions>;
}

/** Starts a node in this process and registers teardown for it and every client opened. */
export async function startApiNode(t: ExecutionContext, engine: EngineName, overrides: ApiNodeOverrides = {}): Promise<ApiNode> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `cairn-api-${engine}-`));
  const options: NodeOptions = {
    ...DEFAULT_NODE_OPTIONS,
    listen: '127.0.0.1:0',
    dataDir,
    engine,
    logLevel: 'silent',
    limits: { ...DEFAULT_LIMITS, ...overrides.limits },
    ...(overrides.watchProgressIntervalMs === undefined ? {} : { watchProgressIntervalMs: overrides.watchProgressIntervalMs }),
    ...overrides.node,
  };
  const node = await startNode(options);
  const closers: (() => void)[] = [];
  t.teardown(async () => {
    for (const close of closers.reverse()) {
      try {
        close();
      } catch {
        // already closed
      }
    }
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  // Large enough for the biggest responses the tests read back.
  const channelOptions = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
  const newKv = (): Kv => {
    const client = new KVServiceClient(node.address, credentials.createInsecure(), channelOptions);
    closers.push(() => client.close());
    return new Kv(client);
  };
  let sharedWatch: WatchServiceClient | undefined;
  const openWatch = (opts: { ownChannel?: boolean } = {}): WatchSession => {
    let client: WatchServiceClient;
    if (opts.ownChannel || sharedWatch === undefined) {
      client = new WatchServiceClient(node.address, credentials.createInsecure(), channelOptions);
      closers.push(() => client.close());
      if (!opts.ownChannel) sharedWatch = client;
    } else {
      client = sharedWatch;
    }
    const session = new WatchSession(client.watch());
    closers.push(() => session.close());
    return session;
  };
  return { node, address: node.address, dataDir, kv: newKv(), openWatch, newKv };
}
