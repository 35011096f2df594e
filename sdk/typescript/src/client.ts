/**
 * CairnClient: the entry point.
 *
 *   const client = new CairnClient();              // CAIRN_ENDPOINTS or 127.0.0.1:7379
 *   await client.put('greeting', 'hello');
 *   const kv = await client.get('greeting');       // KeyValue | undefined
 *   client.close();
 */
import type { CompactResponse, DeleteRangeResponse, PutResponse, RangeResponse, TxnRequest, TxnResponse } from '../gen/cairn/v1/kv.js';
import type { Member, MemberListResponse } from '../gen/cairn/v1/cluster.js';
import { selectKeys, type Bytes, type KeySelector } from './bytes.js';
import { watchConfig, decodeConfig, type ConfigOptions, type ConfigVersion } from './config.js';
import { unary } from './member.js';
import {
  deleteResult,
  header,
  putResult,
  rangeResult,
  type DeleteResult,
  type Header,
  type KeyValue,
  type PutResult,
  type RangeResult,
} from './kv-types.js';
import { userCredentials } from './auth.js';
import { MemberPool, type CallContext, type InvokeOptions, type Safety } from './pool.js';
import { transportFor, type TlsOptions } from './tls.js';
import { deleteRequest, putRequest, rangeRequest, type DeleteOptions, type PutOptions, type ReadOptions } from './requests.js';
import { toBigInt, type Int64 } from './int64.js';
import { Txn, txnResult, type CommitOptions } from './txn.js';
import { Watch, type WatchOptions } from './watch.js';
import { LeaseClient } from './lease.js';
import { Session, type SessionOptions } from './session.js';
import { discover, type Discovery } from './discovery.js';
import { observeLeader } from './election.js';

export const DEFAULT_ENDPOINT = '127.0.0.1:7379';
/** How long a connection to one member may take before the next is tried (all SDKs: 2 s). */
export const DEFAULT_DIAL_TIMEOUT_MS = 2000;
/**
 * The deadline of a call, discovery and retries included (all SDKs: 5 s): with no member
 * answering, a call fails this long after it was made.
 */
export const DEFAULT_CALL_TIMEOUT_MS = 5000;

export interface ClientOptions {
  /** host:port of one or more members; default CAIRN_ENDPOINTS (comma-separated), else 127.0.0.1:7379. */
  endpoints?: string[] | string;
  /** How long to wait for a connection to a member before trying the next one (default DEFAULT_DIAL_TIMEOUT_MS, 2000). */
  dialTimeoutMs?: number;
  /** Deadline of every call, discovery and retries included (default DEFAULT_CALL_TIMEOUT_MS, 5000). */
  callTimeoutMs?: number;
  /** Learn the other members' addresses from the cluster (default true). */
  discover?: boolean;
  /**
   * Connect with TLS: the CA, and a client certificate for members with --client-cert-auth.
   * Unset fields default to CAIRN_CACERT, CAIRN_CERT and CAIRN_KEY; with none at all the
   * client speaks plaintext.
   */
  tls?: TlsOptions;
  /**
   * Authenticate as this user (default CAIRN_USER, which may be NAME:PASSWORD as for the
   * CLI); the token is sent with every call and renewed when it expires.
   */
  user?: string;
  /** The user's password (default CAIRN_PASSWORD). */
  password?: string;
}

function parseEndpoints(e: string): string[] {
  return e
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function resolveEndpoints(given: ClientOptions['endpoints']): string[] {
  if (given !== undefined) return typeof given === 'string' ? parseEndpoints(given) : given;
  const env = parseEndpoints(process.env['CAIRN_ENDPOINTS'] ?? '');
  return env.length > 0 ? env : [DEFAULT_ENDPOINT];
}

export class CairnClient {
  private readonly pool: MemberPool;
  private readonly dialTimeoutMs: number;
  /** Leases: grant, revoke, keepAlive, keepAliveOnce, timeToLive, leases. */
  readonly lease: LeaseClient;

  constructor(options: ClientOptions = {}) {
    this.dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    this.pool = new MemberPool({
      endpoints: resolveEndpoints(options.endpoints),
      dialTimeoutMs: this.dialTimeoutMs,
      callTimeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      discover: options.discover ?? true,
      transport: transportFor(options.tls),
      user: userCredentials(options.user, options.password),
    });
    this.lease = new LeaseClient(this.pool, this.dialTimeoutMs);
  }

  /** Every member address the client knows, the one in use first. */
  get endpoints(): string[] {
    return this.pool.endpoints;
  }

  /** The member requests go to now (reads with consistency 'stale' are served by it). */
  get activeEndpoint(): string {
    return this.pool.active.address;
  }

  /** Sets a key. Retried only when it certainly was not applied, unless retryUnsafe. */
  async put(key: Bytes, value: Bytes, options: PutOptions & InvokeOptions = {}): Promise<PutResult> {
    const req = putRequest(key, value, options);
    const res = await this.pool.invoke(
      'write',
      (c) => unary<PutResponse>((cb) => c.member.kv.put(req, c.metadata, { deadline: c.deadline }, cb)),
      options,
    );
    return putResult(res);
  }

  /** Reads one key; undefined when it does not exist. */
  async get(key: Bytes, options: ReadOptions & InvokeOptions = {}): Promise<KeyValue | undefined> {
    return (await this.range(key, options)).kvs[0];
  }

  /** Reads a key, a prefix (`{ prefix }`) or a range (`{ key, end }`). */
  async range(sel: KeySelector, options: ReadOptions & InvokeOptions = {}): Promise<RangeResult> {
    const req = rangeRequest(sel, options);
    const res = await this.pool.invoke(
      'read',
      (c) => unary<RangeResponse>((cb) => c.member.kv.range(req, c.metadata, { deadline: c.deadline }, cb)),
      options,
    );
    return rangeResult(res);
  }

  /** Reads every key starting with prefix, in key order. */
  getPrefix(prefix: Bytes, options: ReadOptions & InvokeOptions = {}): Promise<RangeResult> {
    return this.range({ prefix }, options);
  }

  /** Deletes a key, a prefix (`{ prefix }`) or a range (`{ key, end }`). */
  async delete(sel: KeySelector, options: DeleteOptions & InvokeOptions = {}): Promise<DeleteResult> {
    const req = deleteRequest(sel, options);
    const res = await this.pool.invoke(
      'write',
      (c) => unary<DeleteRangeResponse>((cb) => c.member.kv.deleteRange(req, c.metadata, { deadline: c.deadline }, cb)),
      options,
    );
    return deleteResult(res);
  }

  /** Starts a transaction: `.if(...).then(...).else(...).commit()`. */
  txn(): Txn {
    return new Txn(async (req: TxnRequest, writes: boolean, options: CommitOptions) => {
      const res = await this.pool.invoke(
        writes ? 'write' : 'read',
        (c) => unary<TxnResponse>((cb) => c.member.kv.txn(req, c.metadata, { deadline: c.deadline }, cb)),
        options,
      );
      return txnResult(res);
    });
  }

  /** Discards history before revision; reads and watches below it then fail with isCompacted. */
  async compact(revision: Int64, options: { physical?: boolean } & InvokeOptions = {}): Promise<Header> {
    const req = { revision: toBigInt(revision, 'revision'), physical: options.physical ?? false };
    // Compacting twice at the same revision is harmless, so it is retried like a read.
    const res = await this.pool.invoke(
      'read',
      (c) => unary<CompactResponse>((cb) => c.member.kv.compact(req, c.metadata, { deadline: c.deadline }, cb)),
      options,
    );
    return header(res.header);
  }

  /** Lists the cluster's members (the MemberList RPC; same name in every SDK). */
  async memberList(options: InvokeOptions = {}): Promise<Member[]> {
    const res = await this.pool.invoke(
      'read',
      (c) => unary<MemberListResponse>((cb) => c.member.cluster.memberList({}, c.metadata, { deadline: c.deadline }, cb)),
      options,
    );
    return res.members;
  }

  /** @deprecated Use memberList(), the name every SDK shares. */
  members(options: InvokeOptions = {}): Promise<Member[]> {
    return this.memberList(options);
  }

  /**
   * Watches a key (or, with `prefix: true`, every key under it). Iterate it with
   * `for await`; it yields one WatchBatch per revision. See watch.ts.
   */
  watch(key: Bytes, options: WatchOptions = {}): Watch {
    const target = options.prefix === true ? selectKeys({ prefix: key }) : selectKeys(key);
    return new Watch(this.pool, target, options, this.dialTimeoutMs);
  }

  /** Reads a JSON config value as a T (validated by `decode` when given); undefined when absent. */
  async getConfig<T>(key: Bytes, options: ConfigOptions<T> & ReadOptions & InvokeOptions = {}): Promise<T | undefined> {
    const kv = await this.get(key, options);
    return kv === undefined ? undefined : decodeConfig(kv, options.decode);
  }

  /** Yields the config's current version, then each new one, decoded as T. */
  watchConfig<T>(key: Bytes, options: ConfigOptions<T> & { signal?: AbortSignal } = {}): AsyncGenerator<ConfigVersion<T>, void, undefined> {
    return watchConfig<T>(this, key, options);
  }

  /**
   * Starts a session: a lease (default TTL 60 s) kept alive in the background, for
   * `session.register`, `new Mutex(session, name)` and `new Election(session, name)`.
   */
  session(options: SessionOptions = {}): Promise<Session> {
    return Session.create(this, options);
  }

  /** The live keys under `prefix` (registered services) and the joins and leaves after them. */
  discover(prefix: string, options: { signal?: AbortSignal } = {}): Promise<Discovery> {
    return discover(this, prefix, options);
  }

  /** The leader of election `name` each time it changes; no session needed. */
  observeLeader(name: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue, void, undefined> {
    return observeLeader(this, name, options);
  }

  /**
   * Runs one raw gRPC call, of any service, with the client's failover, retry policy
   * (`safety`: may a retry apply it twice?), token and call deadline. For tools that need
   * calls the typed API does not cover (the `cairn` CLI's auth, maintenance and txn
   * commands); `ctx.member` holds a stub per service of the member in use.
   */
  async call<T>(safety: Safety, attempt: (ctx: CallContext) => Promise<T>, options: InvokeOptions = {}): Promise<T> {
    return this.pool.invoke(safety, attempt, options);
  }

  /** Closes every connection; in-flight calls fail and watches end. */
  close(): void {
    this.pool.close();
  }
}
