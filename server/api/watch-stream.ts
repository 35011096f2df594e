import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { WatchCreateRequest, WatchRequest, WatchResponse } from '../../gen/ts/cairn/v1/watch.js';
import { WatchCreateRequest_FilterType } from '../../gen/ts/cairn/v1/watch.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { Limits } from '../config.js';
import { CairnError, compactedError, ErrorCode } from '../errors.js';
import type { RevisionEvents } from '../mvcc/events.js';
import { toKeyRange } from '../mvcc/key-range.js';
import type { WatchHub } from '../mvcc/watch-hub.js';
import { Watcher, type WatchSink } from '../mvcc/watcher.js';
import { rpcStatusOf } from './errors.js';
import type { RequestValidator } from './validate.js';

interface Outgoing {
  response: WatchResponse;
  watcher: Watcher | undefined;
  events: number;
}

/** A few hundred bytes per event for fields and framing, on top of keys and values. */
const EVENT_OVERHEAD_BYTES = 256;

/**
 * One client watch stream: many watchers, one ordered outbound queue. The queue is
 * written to the transport only while the transport accepts more, so a slow client
 * stalls only its own watchers, whose buffers are bounded by the hub.
 */
export class WatchStream implements WatchSink {
  private readonly watchers = new Map<number, Watcher>();
  private readonly queue: Outgoing[] = [];
  private nextWatchId = 1;
  private writable = true;
  private closed = false;
  private progressTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly call: ServerDuplexStream<WatchRequest, WatchResponse>,
    private readonly hub: WatchHub,
    private readonly limits: Limits,
    private readonly validator: RequestValidator,
    private readonly header: (revision: number) => ResponseHeader,
    private readonly currentRevision: () => number,
    private readonly logger: Logger,
    progressIntervalMs: number,
  ) {
    call.on('data', (req: WatchRequest) => this.handle(req));
    call.on('end', () => this.close(true));
    call.on('error', () => this.close(false));
    call.on('cancelled', () => this.close(false));
    call.on('drain', () => {
      this.writable = true;
      this.pump();
    });
    this.progressTimer = setInterval(() => this.periodicProgress(), progressIntervalMs);
    this.progressTimer.unref();
  }

  // WatchSink

  send(watcher: Watcher, revisions: RevisionEvents[]): void {
    for (const rev of revisions) {
      const events = watcher.prevKv ? rev.events : rev.events.map((e) => ({ ...e, prevKv: undefined }));
      const chunks = this.fragments(watcher, events);
      for (const [i, chunk] of chunks.entries()) {
        const last = i === chunks.length - 1;
        this.enqueue(
          {
            header: this.header(rev.revision),
            watchId: watcher.id,
            created: false,
            canceled: false,
            compactRevision: 0,
            cancelReason: '',
            cancelStatus: undefined,
            fragment: !last,
            events: chunk,
          },
          watcher,
        );
      }
    }
    watcher.sentSinceProgress = true;
  }

  compacted(watcher: Watcher, compactedRevision: number): void {
    this.watchers.delete(watcher.id);
    this.enqueue(this.reply(watcher.id, canceledBy(compactedError(watcher.nextRevision, compactedRevision))), undefined);
  }

  // Requests

  private handle(req: WatchRequest): void {
    const r = req.request;
    if (r === undefined || this.closed) return;
    switch (r.$case) {
      case 'createRequest':
        return this.create(r.createRequest);
      case 'cancelRequest':
        return this.cancel(r.cancelRequest.watchId, 'canceled by the client');
      case 'progressRequest':
        return this.progressAll();
    }
  }

  private create(req: WatchCreateRequest): void {
    const id = req.watchId !== 0 ? req.watchId : this.allocateId();
    try {
      this.validator.key(req.key);
      if (req.startRevision < 0)
        throw new CairnError(
          ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
          `start_revision is ${req.startRevision}; use 0 (now) or a positive revision`,
        );
      if (req.watchId < 0)
        throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `watch_id is ${req.watchId}; use 0 (server chooses) or a positive id`);
      if (this.watchers.has(id))
        throw new CairnError(ErrorCode.ERROR_CODE_DUPLICATE_WATCH_ID, `watch id ${id} is already in use on this stream`);
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
    } catch (err) {
      if (!(err instanceof CairnError)) throw err;
      // As in etcd, a bad create ends only that watch, not the stream.
      this.enqueue(this.reply(id, { created: true, ...canceledBy(err) }), undefined);
      return;
    }
    const watcher = new Watcher(
      {
        id,
        range: toKeyRange(req.key, req.rangeEnd),
        startRevision: req.startRevision,
        prevKv: req.prevKv,
        noPut: req.filters.includes(WatchCreateRequest_FilterType.FILTER_TYPE_NOPUT),
        noDelete: req.filters.includes(WatchCreateRequest_FilterType.FILTER_TYPE_NODELETE),
        progressNotify: req.progressNotify,
        fragment: req.fragment,
      },
      this,
    );
    this.watchers.set(id, watcher);
    this.enqueue(this.reply(id, { created: true }), undefined);
    this.hub.add(watcher);
  }

  private cancel(id: number, reason: string): void {
    const watcher = this.watchers.get(id);
    if (watcher === undefined) return;
    this.watchers.delete(id);
    this.hub.remove(watcher);
    this.enqueue(this.reply(id, { canceled: true, cancelReason: reason }), undefined);
  }

  /**
   * Answers a progress request with one response for the whole stream (watch_id -1). It
   * follows every event queued so far, and names the lowest revision all watchers reached,
   * so it never claims a revision whose events are still to come.
   */
  private progressAll(): void {
    let revision = this.currentRevision();
    for (const watcher of this.watchers.values()) revision = Math.min(revision, this.hub.progressRevision(watcher));
    this.enqueue({ ...this.reply(-1, {}), header: this.header(revision) }, undefined);
  }

  private periodicProgress(): void {
    for (const watcher of this.watchers.values()) {
      if (!watcher.progressNotify) continue;
      if (!watcher.sentSinceProgress && watcher.synced && watcher.queuedEvents === 0) {
        this.enqueue({ ...this.reply(watcher.id, {}), header: this.header(this.hub.progressRevision(watcher)) }, undefined);
      }
      watcher.sentSinceProgress = false;
    }
  }

  // Output

  /** Splits one revision's events when the watcher allows it and they are too large for one message. */
  private fragments(watcher: Watcher, events: RevisionEvents['events']): RevisionEvents['events'][] {
    if (!watcher.fragment) return [events];
    const chunks: RevisionEvents['events'][] = [[]];
    let bytes = 0;
    for (const event of events) {
      const size = EVENT_OVERHEAD_BYTES + event.kv!.key.length + event.kv!.value.length + (event.prevKv?.value.length ?? 0);
      if (bytes + size > this.limits.maxRequestBytes && chunks[chunks.length - 1]!.length > 0) {
        chunks.push([]);
        bytes = 0;
      }
      chunks[chunks.length - 1]!.push(event);
      bytes += size;
    }
    return chunks;
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

  private enqueue(response: WatchResponse, watcher: Watcher | undefined): void {
    if (this.closed) return;
    const events = watcher === undefined ? 0 : response.events.length;
    if (watcher !== undefined) watcher.queuedEvents += events;
    this.queue.push({ response, watcher, events });
    this.pump();
  }

  private pump(): void {
    while (this.writable && !this.closed && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.writable = this.call.write(item.response);
      if (item.watcher !== undefined) {
        item.watcher.queuedEvents -= item.events;
        if (item.watcher.queuedEvents === 0) this.hub.drained(item.watcher);
      }
    }
  }

  private close(graceful: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.progressTimer);
    for (const watcher of this.watchers.values()) this.hub.remove(watcher);
    this.watchers.clear();
    this.queue.length = 0;
    if (graceful) this.call.end();
    this.logger.debug({ graceful }, 'watch stream closed');
  }

  private allocateId(): number {
    while (this.watchers.has(this.nextWatchId)) this.nextWatchId++;
    return this.nextWatchId++;
  }
}

/**
 * The fields of a watch canceled because of an error: its message, and the status and
 * ErrorInfo a call failing the same way would end with (the one table, server/api/errors.ts).
 */
function canceledBy(err: CairnError): Partial<WatchResponse> {
  return { canceled: true, cancelReason: err.message, cancelStatus: rpcStatusOf(err), compactRevision: err.compactRevision };
}
