import type { ServerDuplexStream } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { WatchCreateRequest, WatchRequest, WatchResponse } from '../../gen/ts/cairn/v1/watch.js';
import { WatchCreateRequest_FilterType } from '../../gen/ts/cairn/v1/watch.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { Limits } from '../config.js';
import { CairnError, compactedError, ErrorCode } from '../errors.js';
import type { RevisionEvents } from '../mvcc/events.js';
import { toKeyRange } from '../mvcc/key-range.js';
import type { WatchHub } from '../mvcc/watch-hub.js';
import { Watcher, type WatcherOptions, type WatchSink } from '../mvcc/watcher.js';
import { Fifo } from '../mvcc/fifo.js';
import { encodeEventResponse, encodeHeaderField, type EncodedRevision, type WatchProtocol } from './watch-encoding.js';
import type { RequestValidator } from './validate.js';
import type { WatchAccess } from './auth/watch-access.js';

/** Bytes counted per event on top of its key and values, for the buffer bound. */
const EVENT_OVERHEAD_BYTES = 32;
/** Revisions of one watcher are coalesced into one response up to about this size. */
const COALESCE_BYTES = 16 * 1024;
/**
 * Most bytes one stream hands to the transport ahead of what it has sent: about HTTP/2's
 * default window. Writing further ahead than the client lets the server send only piles
 * encoded copies up in buffers; kept unencoded, pending revisions are shared references.
 */
const STREAM_SEND_AHEAD_BYTES = 64 * 1024;
/**
 * Coalescing limit of the one response a stream may always have in flight while the
 * member's send budget is spent: small, so that thousands of streams cost little beyond
 * the budget (a single revision larger than this still goes whole).
 */
const OVER_BUDGET_COALESCE_BYTES = 2 * 1024;
/** What a queued progress notification counts toward the buffer until it is written. */
const PROGRESS_ITEM_BYTES = 64;
/** Most time spent writing to streams before other work (commits, requests) gets a turn. */
const FLUSH_SLICE_MS = 10;

/** One watch on a stream: the hub's watcher plus what waits to be written for it. */
class StreamWatcher extends Watcher {
  /** Revisions taken from the hub and not yet written, in order. */
  readonly pending = new Fifo<RevisionEvents>();
  /** pending's share of the stream's buffered bytes. */
  pendingBytes = 0;
  /** Whether an 'events' item for this watcher is in the stream's queue. */
  scheduled = false;
  /** Canceled by the client or the stream closed: nothing more is written for it. */
  dropped = false;
  /** The cancel to write once pending is written (history compacted under it). */
  finalReply: Buffer | undefined;
  /** Whether a periodic progress notification for it waits in the queue. */
  progressQueued = false;
}

/**
 * Responses handed to the transport and not yet sent, by every stream of one member. Each
 * stream may always have one response in flight (so none starves); beyond that, streams
 * write ahead only while the member's total is under maxWatchSendBufferBytes. This bounds
 * the encoded copies that many slow clients can make a member hold.
 */
class SendBudget {
  inflight = 0;
  /** Streams that stopped writing because the budget was spent, in the order they stopped. */
  private readonly waiting = new Fifo<WatchStream>();
  private readonly isWaiting = new WeakSet<WatchStream>();

  wait(stream: WatchStream): void {
    if (this.isWaiting.has(stream)) return;
    this.isWaiting.add(stream);
    this.waiting.push(stream);
  }

  /**
   * Budget was freed: lets the longest-waiting streams write again, a few at a time (each
   * response sent frees room for about one more), not all at once to find it spent again.
   */
  wakeSome(count: number): void {
    for (let i = 0; i < count; i++) {
      const stream = this.waiting.shift();
      if (stream === undefined) return;
      this.isWaiting.delete(stream);
      scheduleFlush(stream);
    }
  }
}

/** One budget per member: its streams share the hub. */
const sendBudgets = new WeakMap<WatchHub, SendBudget>();

type Item =
  /** A response encoded when it was queued (created, canceled). */
  | { kind: 'reply'; bytes: Buffer }
  /** Whatever the watcher has pending when the item's turn comes. */
  | { kind: 'events'; watcher: StreamWatcher }
  /** A progress notification, its revision taken when it is written; for the stream (-1) or one watcher. */
  | { kind: 'progress'; watcher: StreamWatcher | undefined };

/**
 * One client watch stream: many watchers, one ordered queue, one bounded buffer.
 *
 * What the hub offers goes to the watcher's pending revisions (references to revisions many
 * watchers share, not copies); the queue holds one 'events' item per watcher with pending
 * revisions, in the order they first had some, between control replies. Writing takes
 * items in order while the transport accepts more (write() true; 'drain' otherwise, which
 * follows HTTP/2 flow control), and a watcher's turn writes all its pending revisions
 * (whole revisions, up to COALESCE_BYTES) as one response; what remains goes to the back.
 *
 * Pending events, queued replies and responses handed to the transport but not yet sent
 * all count toward `maxWatchStreamBufferBytes`. Over it, the stream refuses offers (the
 * hub then catches those watchers up from history once the stream has room again) and
 * stops reading requests. So a stream that can't keep up costs a bounded buffer, not
 * memory growing with the backlog. Encoded responses in flight are bounded further: per
 * stream by STREAM_SEND_AHEAD_BYTES, and for all streams of the member together by
 * `maxWatchSendBufferBytes` (SendBudget).
 *
 * Writing happens in a shared, time-sliced flush after the current work (setImmediate),
 * so that the events of one commit, or of several, go out together per watcher, and no
 * commit waits for watch traffic.
 */
/** Told of what a watch stream sends, for metrics (server/observability/metrics.ts). */
export interface WatchObserver {
  watchEventsWritten(events: number): void;
}

export class WatchStream implements WatchSink {
  private readonly watchers = new Map<number, StreamWatcher>();
  private readonly queue = new Fifo<Item>();
  /** Pending events (estimated), queued replies and written responses not yet sent. */
  private bufferedBytes = 0;
  private nextWatchId: number;
  private writable = true;
  private closed = false;
  private readingPaused = false;
  /** Bytes handed to the transport and not yet sent (also counted in bufferedBytes). */
  private inflight = 0;
  private readonly budget: SendBudget;
  /** The hub was refused room since the last wake: wake it when there is room again. */
  private roomWanted = false;
  private progressTimer: NodeJS.Timeout | undefined;
  /** The key and range_end each open watch was granted on, re-checked on auth changes. */
  private readonly watchedRanges = new Map<number, { key: Buffer; rangeEnd: Buffer }>();
  private readonly stopAccessChecks: () => void;

  constructor(
    private readonly call: ServerDuplexStream<WatchRequest, WatchResponse>,
    private readonly hub: WatchHub,
    private readonly limits: Limits,
    private readonly validator: RequestValidator,
    private readonly header: (revision: number) => ResponseHeader,
    private readonly currentRevision: () => number,
    private readonly logger: Logger,
    progressIntervalMs: number,
    private readonly access: WatchAccess,
    /** The API the client speaks: cairn.v1's or etcd's (watch-encoding.ts). */
    private readonly protocol: WatchProtocol,
    private readonly observer?: WatchObserver,
  ) {
    this.nextWatchId = protocol.firstWatchId;
    let budget = sendBudgets.get(hub);
    if (budget === undefined) sendBudgets.set(hub, (budget = new SendBudget()));
    this.budget = budget;
    call.on('data', (req: WatchRequest) => this.handle(req));
    call.on('end', () => this.close(true));
    call.on('error', () => this.close(false));
    call.on('cancelled', () => this.close(false));
    call.on('drain', () => {
      this.writable = true;
      scheduleFlush(this);
    });
    this.progressTimer = setInterval(() => this.periodicProgress(), progressIntervalMs);
    this.progressTimer.unref();
    // Deferred: the change is being applied right now; re-check once it is done.
    this.stopAccessChecks = access.onChange(() => queueMicrotask(() => this.recheckAccess()));
  }

  // WatchSink

  offer(watcher: Watcher, rev: RevisionEvents): boolean {
    const w = watcher as StreamWatcher;
    if (this.closed || w.dropped) return true; // going away: nothing to keep
    const bytes = estimateBytes(rev, w.prevKv);
    if (this.bufferedBytes > 0 && this.bufferedBytes + bytes > this.limits.maxWatchStreamBufferBytes) {
      this.roomWanted = true;
      return false;
    }
    w.pending.push(rev);
    w.pendingBytes += bytes;
    w.queuedEvents += rev.events.length;
    w.sentSinceProgress = true;
    this.bufferedBytes += bytes;
    if (!w.scheduled) {
      w.scheduled = true;
      this.queue.push({ kind: 'events', watcher: w });
    }
    scheduleFlush(this);
    return true;
  }

  /** Room for a storage read: at most half full, so that a read is not wasted on a few bytes of room. */
  hasRoom(): boolean {
    if (this.bufferedBytes <= this.limits.maxWatchStreamBufferBytes / 2) return true;
    this.roomWanted = true;
    return false;
  }

  compacted(watcher: Watcher, compactedRevision: number): void {
    const w = watcher as StreamWatcher;
    if (this.watchers.get(w.id) === w) {
      this.watchers.delete(w.id);
      this.watchedRanges.delete(w.id);
    }
    if (this.closed || w.dropped) return;
    const bytes = this.protocol.encodeResponse(
      this.reply(w.id, this.protocol.canceledBy(compactedError(w.nextRevision, compactedRevision))),
    );
    // After the events it already took, which are history before the compaction.
    if (w.scheduled) w.finalReply = bytes;
    else this.enqueueReply(bytes);
  }

  // Requests

  private handle(req: WatchRequest): void {
    const r = req.request;
    if (r === undefined || this.closed) return;
    switch (r.$case) {
      case 'createRequest':
        return this.create(r.createRequest);
      case 'cancelRequest':
        return this.cancel(r.cancelRequest.watchId, this.protocol.clientCancelReason);
      case 'progressRequest':
        return this.enqueue({ kind: 'progress', watcher: undefined }, PROGRESS_ITEM_BYTES);
    }
  }

  private create(req: WatchCreateRequest): void {
    // 0: the server picks the id, once the create is accepted (an etcd refusal takes none).
    const chosen = req.watchId;
    const early = this.protocol.refuseCreate(req, 'request');
    if (early !== undefined) return this.refuse(chosen, early);
    try {
      this.validator.key(req.key);
      if (req.startRevision < 0)
        throw new CairnError(
          ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
          `start_revision is ${req.startRevision}; use 0 (now) or a positive revision`,
        );
      if (req.watchId < 0)
        throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `watch_id is ${req.watchId}; use 0 (server chooses) or a positive id`);
      if (chosen !== 0 && this.watchers.has(chosen))
        throw new CairnError(ErrorCode.ERROR_CODE_DUPLICATE_WATCH_ID, `watch id ${chosen} is already in use on this stream`);
      if (this.watchers.size >= this.limits.maxWatchesPerStream) {
        throw new CairnError(
          ErrorCode.ERROR_CODE_TOO_MANY_WATCHES,
          `this stream already has ${this.watchers.size} watches; the limit is ${this.limits.maxWatchesPerStream} (--max-watches-per-stream)`,
        );
      }
      for (const f of req.filters) {
        if (f !== WatchCreateRequest_FilterType.FILTER_TYPE_NOPUT && f !== WatchCreateRequest_FilterType.FILTER_TYPE_NODELETE) {
          throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `filter ${f} is not NOPUT or NODELETE`);
        }
      }
      this.access.check(req.key, req.rangeEnd);
    } catch (err) {
      if (!(err instanceof CairnError)) throw err;
      return this.refuse(chosen, this.protocol.canceledBy(err));
    }
    const late = this.protocol.refuseCreate(req, 'range');
    if (late !== undefined) return this.refuse(chosen, late);
    const id = chosen !== 0 ? chosen : this.allocateId();
    const options: WatcherOptions = {
      id,
      range: toKeyRange(req.key, req.rangeEnd),
      startRevision: req.startRevision,
      prevKv: req.prevKv,
      noPut: req.filters.includes(WatchCreateRequest_FilterType.FILTER_TYPE_NOPUT),
      noDelete: req.filters.includes(WatchCreateRequest_FilterType.FILTER_TYPE_NODELETE),
      progressNotify: req.progressNotify,
      fragment: req.fragment,
    };
    const watcher = new StreamWatcher(options, this);
    this.watchers.set(id, watcher);
    this.watchedRanges.set(id, { key: req.key, rangeEnd: req.rangeEnd });
    // Queued before the hub can offer it anything, so it precedes the watcher's events.
    this.enqueueReply(this.protocol.encodeResponse(this.reply(id, { created: true })));
    this.hub.add(watcher);
  }

  /** As in etcd, a bad create ends only that watch, not the stream: created and canceled. */
  private refuse(chosen: number, fields: Partial<WatchResponse>): void {
    const id = this.protocol.refusedWatchId(() => (chosen !== 0 ? chosen : this.allocateId()));
    this.enqueueReply(this.protocol.encodeResponse(this.reply(id, { created: true, ...fields })));
  }

  private cancel(id: number, reason: string | CairnError): void {
    const watcher = this.watchers.get(id);
    if (watcher === undefined) return;
    this.watchers.delete(id);
    this.watchedRanges.delete(id);
    this.hub.remove(watcher);
    this.drop(watcher);
    const fields = typeof reason === 'string' ? { canceled: true, cancelReason: reason } : this.protocol.canceledBy(reason);
    this.enqueueReply(this.protocol.encodeResponse(this.reply(id, fields)));
  }

  /** Cancels, with the error in cancel_status, every watch the caller may no longer have. */
  private recheckAccess(): void {
    if (this.closed) return;
    for (const [id, { key, rangeEnd }] of [...this.watchedRanges]) {
      try {
        this.access.check(key, rangeEnd);
      } catch (err) {
        if (!(err instanceof CairnError)) throw err;
        this.cancel(id, err);
      }
    }
  }

  private periodicProgress(): void {
    for (const watcher of this.watchers.values()) {
      if (!watcher.progressNotify) continue;
      if (!watcher.sentSinceProgress && watcher.synced && watcher.queuedEvents === 0 && !watcher.progressQueued) {
        watcher.progressQueued = true;
        this.enqueue({ kind: 'progress', watcher }, PROGRESS_ITEM_BYTES);
      }
      watcher.sentSinceProgress = false;
    }
  }

  /** The revision through which every event of the watcher has been written. */
  private writtenRevision(watcher: StreamWatcher): number {
    const first = watcher.pending.peek();
    return first !== undefined ? first.revision - 1 : this.hub.progressRevision(watcher);
  }

  // Output

  /** Writes queued items while the transport takes them; called by the shared flush. */
  flush(): void {
    while (this.canSend()) {
      const item = this.queue.shift();
      if (item === undefined) break;
      switch (item.kind) {
        case 'reply':
          this.write(item.bytes);
          break;
        case 'events':
          this.writeEvents(item.watcher);
          break;
        case 'progress':
          this.writeProgress(item.watcher);
          break;
      }
    }
  }

  /**
   * Whether to hand the transport another response now: it accepts more (write() returned
   * true; otherwise 'drain' follows flow control), and this stream's and the member's
   * responses in flight are within bounds. A stream with nothing in flight may always write.
   */
  private canSend(): boolean {
    if (!this.writable || this.closed) return false;
    if (this.inflight === 0) return true;
    if (this.inflight >= STREAM_SEND_AHEAD_BYTES) return false; // sent() resumes it
    if (this.budget.inflight >= this.limits.maxWatchSendBufferBytes) {
      this.budget.wait(this);
      return false;
    }
    return true;
  }

  private writeEvents(w: StreamWatcher): void {
    if (w.dropped) {
      w.scheduled = false;
      return;
    }
    const overBudget = this.budget.inflight >= this.limits.maxWatchSendBufferBytes;
    const limit = Math.min(overBudget ? OVER_BUDGET_COALESCE_BYTES : COALESCE_BYTES, this.limits.maxRequestBytes);
    const parts: Buffer[] = [];
    let bytes = 0;
    let events = 0;
    let estimate = 0;
    let last = 0;
    for (let rev = w.pending.peek(); rev !== undefined; rev = w.pending.peek()) {
      const encoded = this.protocol.encodeRevision(rev, w.prevKv);
      if (w.fragment && encoded.bytes > this.protocol.fragmentBytes(this.limits.maxRequestBytes)) {
        if (parts.length > 0) break; // what was gathered goes first, then this one alone
        w.pending.shift();
        this.writeFragments(w, rev, encoded);
        this.consumed(w, rev.events.length, estimateBytes(rev, w.prevKv));
        break;
      }
      if (parts.length > 0 && bytes + encoded.bytes > limit) break;
      w.pending.shift();
      for (const p of encoded.parts) parts.push(p);
      bytes += encoded.bytes;
      events += rev.events.length;
      estimate += estimateBytes(rev, w.prevKv);
      last = rev.revision;
    }
    if (parts.length > 0) {
      this.consumed(w, events, estimate);
      this.write(encodeEventResponse(this.headerField(last), w.id, false, parts, bytes), true);
    }
    if (w.pending.length > 0) {
      this.queue.push({ kind: 'events', watcher: w }); // the others get a turn first
      return;
    }
    w.scheduled = false;
    if (w.finalReply !== undefined) {
      const reply = w.finalReply;
      w.finalReply = undefined;
      this.write(reply, true);
    }
    // An unsynced watcher with an empty queue can read on from history.
    if (!w.synced && !w.canceled) this.hub.wake();
  }

  /** A revision too large for one response, split over several (the watcher allowed it). */
  private writeFragments(w: StreamWatcher, rev: RevisionEvents, encoded: EncodedRevision): void {
    const headerField = this.headerField(rev.revision);
    const fragmentBytes = this.protocol.fragmentBytes(this.limits.maxRequestBytes);
    let parts: Buffer[] = [];
    let bytes = 0;
    const flushPart = (fragment: boolean): void => {
      this.write(encodeEventResponse(headerField, w.id, fragment, parts, bytes), true);
      parts = [];
      bytes = 0;
    };
    for (const p of encoded.parts) {
      if (parts.length > 0 && bytes + p.length > fragmentBytes) flushPart(true);
      parts.push(p);
      bytes += p.length;
    }
    flushPart(false);
  }

  /** Events leave the watcher's pending revisions as they are written. */
  private consumed(w: StreamWatcher, events: number, estimate: number): void {
    this.observer?.watchEventsWritten(events);
    w.queuedEvents -= events;
    w.pendingBytes -= estimate;
    this.bufferedBytes -= estimate;
  }

  private writeProgress(watcher: StreamWatcher | undefined): void {
    this.bufferedBytes -= PROGRESS_ITEM_BYTES;
    let revision: number;
    if (watcher === undefined) {
      // For the whole stream: the lowest revision every watcher has been written through.
      revision = this.currentRevision();
      for (const w of this.watchers.values()) revision = Math.min(revision, this.writtenRevision(w));
    } else {
      watcher.progressQueued = false;
      if (watcher.dropped || watcher.canceled) return;
      revision = this.writtenRevision(watcher);
    }
    const response = this.reply(watcher?.id ?? -1, {});
    this.write(this.protocol.encodeResponse({ ...response, header: this.header(revision) }), true);
  }

  /**
   * Hands one encoded response to the transport; it counts toward the buffer until the
   * transport has sent it (counted already when `fresh` is false).
   */
  private write(bytes: Buffer, fresh = false): void {
    if (fresh) this.bufferedBytes += bytes.length;
    this.inflight += bytes.length;
    this.budget.inflight += bytes.length;
    // The service's serializer passes Buffers through (WATCH_SERVICE_DEFINITION).
    this.writable = this.call.write(bytes as unknown as WatchResponse, () => this.sent(bytes.length));
  }

  private sent(bytes: number): void {
    if (this.closed) return; // close() gave back everything in flight
    this.bufferedBytes -= bytes;
    this.inflight -= bytes;
    this.budget.inflight -= bytes;
    if (this.budget.inflight < this.limits.maxWatchSendBufferBytes) this.budget.wakeSome(2);
    if (this.queue.length > 0) scheduleFlush(this);
    const low = this.bufferedBytes <= this.limits.maxWatchStreamBufferBytes / 2;
    if (low && this.readingPaused) {
      this.readingPaused = false;
      this.call.resume();
    }
    if (low && this.roomWanted) {
      this.roomWanted = false;
      this.hub.wake();
    }
  }

  private enqueueReply(bytes: Buffer): void {
    this.enqueue({ kind: 'reply', bytes }, bytes.length);
  }

  private enqueue(item: Item, bytes: number): void {
    if (this.closed) return;
    this.bufferedBytes += bytes;
    this.queue.push(item);
    // A client that sends requests without reading the replies is read no further for now.
    if (this.bufferedBytes > this.limits.maxWatchStreamBufferBytes && !this.readingPaused) {
      this.readingPaused = true;
      this.call.pause();
    }
    scheduleFlush(this);
  }

  private headerField(revision: number): Buffer {
    return cachedHeaderField(this.header, revision);
  }

  private reply(watchId: number, fields: Partial<WatchResponse>): WatchResponse {
    return {
      header: this.header(this.currentRevision()),
      watchId,
      created: false,
      canceled: false,
      compactRevision: 0,
      cancelReason: '',
      cancelStatus: undefined,
      fragment: false,
      events: [],
      ...fields,
    };
  }

  /** Forgets what the watcher has pending: it is canceled or the stream is closing. */
  private drop(w: StreamWatcher): void {
    w.dropped = true;
    this.bufferedBytes -= w.pendingBytes;
    w.pendingBytes = 0;
    w.queuedEvents = 0;
    w.pending.clear();
    w.finalReply = undefined;
  }

  private close(graceful: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.progressTimer);
    this.stopAccessChecks();
    this.watchedRanges.clear();
    for (const watcher of this.watchers.values()) {
      this.hub.remove(watcher);
      this.drop(watcher);
    }
    this.watchers.clear();
    this.queue.clear();
    dirty.delete(this);
    // A canceled call may never confirm what it had in flight: give it back to the member now.
    this.budget.inflight -= this.inflight;
    this.inflight = 0;
    this.budget.wakeSome(2);
    if (graceful) this.call.end();
    this.logger.debug({ graceful }, 'watch stream closed');
  }

  private allocateId(): number {
    while (this.watchers.has(this.nextWatchId)) this.nextWatchId++;
    return this.nextWatchId++;
  }
}

/** What one revision adds to a stream's buffer for a watcher. */
function estimateBytes(rev: RevisionEvents, prevKv: boolean): number {
  let n = 0;
  for (const e of rev.events) {
    n += EVENT_OVERHEAD_BYTES + e.kv!.key.length + e.kv!.value.length;
    if (prevKv && e.prevKv !== undefined) n += EVENT_OVERHEAD_BYTES + e.prevKv.key.length + e.prevKv.value.length;
  }
  return n;
}

// The shared flush: streams with something to write, written in turn, a slice at a time.

const dirty = new Set<WatchStream>();
let flushScheduled = false;
/** Encoded headers by header function and revision, valid for one slice (the term may change). */
let headerCache = new WeakMap<(revision: number) => ResponseHeader, Map<number, Buffer>>();

function scheduleFlush(stream: WatchStream): void {
  dirty.add(stream);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flushDirty);
}

function flushDirty(): void {
  flushScheduled = false;
  headerCache = new WeakMap();
  const deadline = performance.now() + FLUSH_SLICE_MS;
  let flushed = 0;
  for (const stream of dirty) {
    dirty.delete(stream);
    stream.flush();
    if (++flushed % 32 === 0 && performance.now() >= deadline) break;
  }
  if (dirty.size > 0) {
    flushScheduled = true;
    setImmediate(flushDirty);
  }
}

function cachedHeaderField(header: (revision: number) => ResponseHeader, revision: number): Buffer {
  let byRevision = headerCache.get(header);
  if (byRevision === undefined) {
    byRevision = new Map();
    headerCache.set(header, byRevision);
  }
  let field = byRevision.get(revision);
  if (field === undefined) {
    field = encodeHeaderField(header(revision));
    byRevision.set(revision, field);
  }
  return field;
}
