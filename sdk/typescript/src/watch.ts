/**
 * Watch as an async iterator of per-revision batches:
 *
 *   for await (const batch of client.watch('app/', { prefix: true })) {
 *     for (const e of batch.events) console.log(e.type, e.kv.keyString, batch.revision);
 *   }
 *
 * Each batch holds every event of one revision that the watch selects (a transaction can
 * change several keys at once), in revision order. The watch outlives the member serving
 * it: when that member fails, it reconnects to another one and resumes at the revision
 * after the last one it delivered, so nothing is skipped or repeated. If that revision was
 * compacted meanwhile, iteration throws a CairnError with isCompacted. `break` (or
 * `return()`, or the abort signal) cancels the watch on the server.
 */
import { status, type ClientDuplexStream, type Metadata } from '@grpc/grpc-js';
import { Event_EventType, type Event as PbEvent } from '../gen/cairn/v1/types.js';
import { WatchRequest, type WatchResponse } from '../gen/cairn/v1/watch.js';
import { isTokenRejected } from './auth.js';
import { backoffDelay, sleep } from './backoff.js';
import { CairnError, fromRpcStatus, toCairnError } from './errors.js';
import { KeyValue } from './kv-types.js';
import type { MemberConnection } from './member.js';
import type { MemberPool } from './pool.js';
import { toBigInt, type Int64 } from './int64.js';

export interface WatchEvent {
  type: 'put' | 'delete';
  /** The key after the change; for a delete only the key and modRevision are set. */
  kv: KeyValue;
  /** The key before the change, when the watch asked for prevKv and history still had it. */
  prevKv: KeyValue | undefined;
}

export interface WatchBatch {
  /** The revision every event of this batch belongs to. */
  revision: bigint;
  events: WatchEvent[];
}

export interface WatchOptions {
  /** Watch every key starting with the given key. */
  prefix?: boolean;
  /** Replay history from this revision before following live changes (default: next change). */
  startRevision?: Int64;
  /** Attach the previous version of the key to each event. */
  prevKv?: boolean;
  /** Aborting cancels the watch; iteration then ends normally. */
  signal?: AbortSignal;
  /**
   * How often an idle stream is probed with a progress request; a member that does not
   * answer within another interval is treated as gone (catches a hung, not just a dead, member).
   */
  heartbeatMs?: number;
}

/** The range of the watch, as the wire wants it. */
export interface WatchTarget {
  key: Buffer;
  rangeEnd: Buffer;
}

/** Stop reading from the server while this many batches wait for the consumer. */
const HIGH_WATER = 256;

/** Stream errors after which the same watch may work on another member. */
const RECONNECTABLE = new Set<status>([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.UNKNOWN,
  status.CANCELLED,
  status.ABORTED,
]);

type Call = ClientDuplexStream<WatchRequest, WatchResponse>;

export class Watch implements AsyncIterableIterator<WatchBatch> {
  private readonly queue: WatchBatch[] = [];
  private waiter: { resolve: (r: IteratorResult<WatchBatch>) => void; reject: (e: unknown) => void } | undefined;
  private failure: CairnError | undefined;
  private closed = false;
  /** The first revision not delivered yet; 0 until the first server reply says where "now" is. */
  private nextRevision: bigint;
  private call: Call | undefined;
  private paused = false;
  /** Whether the current stream got its watch created: a stream that worked resets the backoff. */
  private created = false;
  private readonly stop = new AbortController();
  private readonly onAbort = (): void => void this.return();
  private unregister: () => void = () => undefined;

  constructor(
    private readonly pool: MemberPool,
    private readonly target: WatchTarget,
    private readonly options: WatchOptions,
    private readonly dialTimeoutMs: number,
  ) {
    this.nextRevision = toBigInt(options.startRevision ?? 0n, 'startRevision');
    if (options.signal?.aborted) this.closed = true;
    else {
      options.signal?.addEventListener('abort', this.onAbort, { once: true });
      // Closing the client ends its watches.
      this.unregister = pool.onClose(() => this.close());
      this.run().catch((err: unknown) => this.fail(toCairnError(err)));
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<WatchBatch>> {
    const batch = this.queue.shift();
    if (batch !== undefined) {
      if (this.paused && this.queue.length < HIGH_WATER / 2) {
        this.paused = false;
        this.call?.resume();
      }
      return Promise.resolve({ value: batch, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Cancels the watch; batches not yet read are dropped. */
  return(): Promise<IteratorResult<WatchBatch>> {
    this.close();
    this.queue.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    this.unregister();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    // Cancelling the call ends the stream, and with it the server-side watch.
    this.call?.cancel();
    this.call = undefined;
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

  private deliver(batch: WatchBatch): void {
    if (this.waiter !== undefined) {
      this.waiter.resolve({ value: batch, done: false });
      this.waiter = undefined;
      return;
    }
    this.queue.push(batch);
    if (!this.paused && this.queue.length >= HIGH_WATER) {
      this.paused = true;
      this.call?.pause();
    }
  }

  /** Keeps a stream open on some member until the watch is closed or fails for good. */
  private async run(): Promise<void> {
    let reauthenticated = false;
    for (let attempt = 0; !this.closed;) {
      // Know the other members before this one fails (cached once it succeeded).
      await this.pool.discover();
      if (this.closed) return;
      const member = this.pool.active;
      this.created = false;
      let metadata: Metadata | undefined;
      try {
        await member.connect(this.dialTimeoutMs);
        metadata = await this.pool.tokens.metadata(member, new Date(Date.now() + this.dialTimeoutMs));
        await this.stream(member, metadata);
      } catch (err) {
        const error = toCairnError(err, member.address);
        // A refused token: authenticate again and reopen here, once per stream that worked.
        if (metadata !== undefined && isTokenRejected(error) && !reauthenticated) {
          reauthenticated = true;
          this.pool.tokens.invalidate(metadata);
          continue;
        }
        if (!error.notSent && !RECONNECTABLE.has(error.code)) return this.fail(error);
      }
      if (this.created) reauthenticated = false;
      if (this.closed) return;
      // A stream that worked resets the backoff: the next failure is a new incident.
      attempt = this.created ? 0 : attempt + 1;
      this.pool.failover(member);
      await sleep(backoffDelay(attempt), this.stop.signal);
    }
  }

  /**
   * One stream on one member. Resolves when the stream ends in a way another member can
   * recover from; rejects with errors it cannot (and with reconnectable gRPC errors).
   */
  private stream(member: MemberConnection, metadata: Metadata): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = member.watch.watch(metadata);
      this.call = call;
      if (this.paused) call.pause();
      let heard = true;
      let probing = false;
      const heartbeatMs = this.options.heartbeatMs ?? 5000;
      const heartbeat = setInterval(() => {
        if (this.paused) return; // Silence is ours: we stopped reading.
        if (heard) {
          heard = false;
          probing = false;
          return;
        }
        if (probing) return finish(resolve, true);
        probing = true;
        call.write(WatchRequest.fromPartial({ request: { $case: 'progressRequest', progressRequest: {} } }));
      }, heartbeatMs);
      heartbeat.unref();
      const finish = (settle: () => void, cancel = false): void => {
        clearInterval(heartbeat);
        call.removeAllListeners('data');
        if (this.call === call) this.call = undefined;
        if (cancel) call.cancel();
        settle();
      };
      call.on('data', (res: WatchResponse) => {
        heard = true;
        if (this.closed) return;
        if (res.canceled) {
          // Canceled because of an error (a refused create, compacted history): the server
          // sends the status and ErrorInfo a failed call would carry.
          const error =
            res.cancelStatus !== undefined
              ? fromRpcStatus(res.cancelStatus, member.address)
              : new CairnError({
                  code: status.FAILED_PRECONDITION,
                  message: `watch canceled by the server: ${res.cancelReason}`,
                  endpoint: member.address,
                });
          return finish(() => reject(error), true);
        }
        if (res.watchId === -1n) return; // A progress reply: only a sign of life.
        if (res.created) {
          this.created = true;
          if (this.nextRevision === 0n) this.nextRevision = (res.header?.revision ?? 0n) + 1n;
        }
        for (const batch of batches(res.events)) {
          // A resumed watch may replay what was already delivered; skip it.
          if (batch.revision < this.nextRevision) continue;
          this.nextRevision = batch.revision + 1n;
          this.deliver(batch);
        }
      });
      call.on('error', (err) => finish(() => reject(err)));
      call.on('end', () => finish(resolve));
      call.write(
        WatchRequest.fromPartial({
          request: {
            $case: 'createRequest',
            createRequest: {
              key: this.target.key,
              rangeEnd: this.target.rangeEnd,
              startRevision: this.nextRevision,
              prevKv: this.options.prevKv ?? false,
            },
          },
        }),
      );
    });
  }
}

/** Splits a response's events into one batch per revision (a response may hold several). */
function batches(events: PbEvent[]): WatchBatch[] {
  const out: WatchBatch[] = [];
  for (const e of events) {
    const kv = KeyValue.from(
      e.kv ?? { key: Buffer.alloc(0), value: Buffer.alloc(0), createRevision: 0n, modRevision: 0n, version: 0n, lease: 0n },
    );
    const event: WatchEvent = {
      type: e.type === Event_EventType.EVENT_TYPE_DELETE ? 'delete' : 'put',
      kv,
      prevKv: e.prevKv === undefined ? undefined : KeyValue.from(e.prevKv),
    };
    const last = out[out.length - 1];
    if (last !== undefined && last.revision === kv.modRevision) last.events.push(event);
    else out.push({ revision: kv.modRevision, events: [event] });
  }
  return out;
}
