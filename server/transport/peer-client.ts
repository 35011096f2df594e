/**
 * The message stream to one peer: a bounded queue flushed in batches over one long-lived
 * `Stream` call, reopened with backoff when it fails.
 *
 *   idle --(messages queued)--> open --(call ends or fails)--> backoff --(timer)--> idle
 *                                                               backoff --(peer opened a stream here)--> idle
 *
 * Delivery is best effort, as Raft wants it: messages queued while the peer is down or the
 * queue is full are dropped and the peer is reported unreachable, and Raft resends. Order is
 * preserved for what does arrive: one call at a time, batches written in queue order.
 */
import { status, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import type * as pb from '../../gen/ts/cairn/raft/v1/raft.js';
import type { RaftPeerServiceClient, StreamRequest } from '../../gen/ts/cairn/raft/v1/raft.js';
import type { Message } from '../raft/message.js';
import type { NodeId } from '../raft/types.js';
import { Backoff } from './backoff.js';
import { createPeerClient, type ChannelSettings } from './channel.js';
import { REMOVED_MEMBER_KEY } from './errors.js';
import { approximateWireSize, encodeMessage } from './codec.js';
import type { PeerAddress, TransportLogger } from './types.js';

export interface PeerClientOptions {
  readonly peer: PeerAddress;
  readonly clusterId: number;
  readonly self: NodeId;
  readonly channel: ChannelSettings;
  /** Messages waiting for the stream; beyond this the newest are dropped. */
  readonly maxQueuedMessages: number;
  /** A batch is cut when it would exceed this (a single larger message still goes alone). */
  readonly maxBatchBytes: number;
  readonly random: () => number;
  /** Called (never from inside enqueue) when messages to the peer were lost. */
  readonly onUnreachable: () => void;
  /** The peer refused the stream because a committed change removed this member. */
  readonly onRemoved?: () => void;
  readonly logger?: TransportLogger | undefined;
}

export interface PeerClientStats {
  readonly queued: number;
  readonly sentMessages: number;
  readonly sentBatches: number;
  readonly droppedMessages: number;
  readonly streamsOpened: number;
  readonly streamFailures: number;
  /** Backoffs cut short because the peer opened a stream to this member (see retryNow). */
  readonly earlyRetries: number;
  /** The peer accepted the current stream (it answers with headers after the first batch). */
  readonly active: boolean;
}

interface Queued {
  readonly wire: pb.Message;
  readonly size: number;
}

type State = 'idle' | 'open' | 'backoff' | 'closed';

export class PeerClient {
  private client: RaftPeerServiceClient;
  private readonly backoff: Backoff;
  private state: State = 'idle';
  private queue: Queued[] = [];
  private call: ClientWritableStream<StreamRequest> | undefined = undefined;
  /** The call's buffer is full: wait for 'drain' and let the queue absorb (and bound) the rest. */
  private blocked = false;
  private active = false;
  /** Why the peer last refused our stream, so a refusal repeated on every retry is logged once. */
  private lastRefusal: string | undefined = undefined;
  private overflowed = false;
  private flushTask: NodeJS.Immediate | undefined = undefined;
  private retryTimer: NodeJS.Timeout | undefined = undefined;
  private counts = { sentMessages: 0, sentBatches: 0, droppedMessages: 0, streamsOpened: 0, streamFailures: 0, earlyRetries: 0 };

  constructor(private readonly opts: PeerClientOptions) {
    this.client = createPeerClient(opts.peer.address, opts.channel, false);
    this.backoff = new Backoff(opts.channel.backoff, opts.random);
  }

  /** Queues a message for the next flush. Throws only for messages that cannot be encoded. */
  enqueue(msg: Message): void {
    if (this.state === 'closed') return;
    const wire = encodeMessage(msg);
    if (this.queue.length >= this.opts.maxQueuedMessages) {
      this.counts.droppedMessages++;
      this.overflowed = true; // reported at flush time, outside the caller's stack
    } else {
      this.queue.push({ wire, size: approximateWireSize(msg) });
    }
    this.scheduleFlush();
  }

  stats(): PeerClientStats {
    return { ...this.counts, queued: this.queue.length, active: this.active };
  }

  /**
   * Sends an empty batch, opening the stream if needed: a member that hears from nobody (a
   * removed learner never campaigns, so it would never send anything) learns this way
   * whether the peer refuses it as removed. Nothing when the stream is backing off.
   */
  probe(): void {
    if (this.state === 'idle') this.open();
    if (this.state !== 'open' || this.call === undefined || this.blocked) return;
    this.call.write({ clusterId: this.opts.clusterId, from: this.opts.self, messages: [] });
  }

  /**
   * The peer just opened a stream to this member, so it is up again: a reconnection that is
   * backing off goes now instead of when its timer fires (up to the backoff's cap later).
   * Without this a restarted member would hear from its leader only after that delay, and
   * requests it received meanwhile would wait for a leader. grpc-js keeps its own backoff for
   * the old connection and offers no way to cut it short, so a new one is made.
   */
  retryNow(): void {
    if (this.state !== 'backoff') return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.client.close();
    this.client = createPeerClient(this.opts.peer.address, this.opts.channel, true);
    this.counts.earlyRetries++;
    this.state = 'idle';
    this.flush();
  }

  /** Ends the stream and every timer; queued messages are discarded. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.flushTask !== undefined) clearImmediate(this.flushTask);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.queue = [];
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    this.client.close();
  }

  /** Everything queued within one turn of the event loop goes out together. */
  private scheduleFlush(): void {
    if (this.flushTask !== undefined || this.state === 'closed') return;
    this.flushTask = setImmediate(() => {
      this.flushTask = undefined;
      this.flush();
    });
  }

  private flush(): void {
    let lost = this.overflowed;
    this.overflowed = false;
    if (this.state === 'backoff') {
      lost ||= this.queue.length > 0;
      this.counts.droppedMessages += this.queue.length;
      this.queue = [];
    } else {
      if (this.state === 'idle' && this.queue.length > 0) this.open();
      if (this.state === 'open') this.writeQueued();
    }
    if (lost) this.opts.onUnreachable();
  }

  private open(): void {
    this.state = 'open';
    this.counts.streamsOpened++;
    const call: ClientWritableStream<StreamRequest> = this.client.stream((err) => this.ended(call, err));
    this.call = call;
    call.on('metadata', () => {
      if (this.call !== call) return;
      if (!this.active) this.opts.logger?.info({ peer: this.opts.peer.id }, 'raft peer stream established');
      this.active = true;
      this.backoff.reset();
    });
    // Failures arrive through the callback; the listener only keeps an 'error' event from throwing.
    call.on('error', () => {});
  }

  private writeQueued(): void {
    const call = this.call;
    if (call === undefined) return;
    while (this.queue.length > 0 && !this.blocked) {
      const messages = this.takeBatch();
      this.counts.sentMessages += messages.length;
      this.counts.sentBatches++;
      if (!call.write({ clusterId: this.opts.clusterId, from: this.opts.self, messages })) {
        this.blocked = true;
        call.once('drain', () => {
          if (this.call !== call) return;
          this.blocked = false;
          this.scheduleFlush();
        });
      }
    }
  }

  /** The longest queue prefix within maxBatchBytes, and at least one message. */
  private takeBatch(): pb.Message[] {
    let n = 0;
    let bytes = 0;
    for (const q of this.queue) {
      if (n > 0 && bytes + q.size > this.opts.maxBatchBytes) break;
      bytes += q.size;
      n++;
    }
    return this.queue.splice(0, n).map((q) => q.wire);
  }

  private ended(call: ClientWritableStream<StreamRequest>, err: ServiceError | null): void {
    if (this.call !== call || this.state === 'closed') return;
    this.call = undefined;
    this.blocked = false;
    this.counts.streamFailures++;
    // Whatever the call still buffered is lost; what is queued would be stale by the retry.
    this.counts.droppedMessages += this.queue.length;
    this.queue = [];
    const detail = { peer: this.opts.peer.id, address: this.opts.peer.address, code: err?.code, details: err?.details };
    // Warn on losing a working stream; repeated failures to reconnect are only debug noise.
    // A refusal (not a member's certificate, another cluster) is the operator's to fix: warned
    // once per reason, not on every retry.
    const refused = err?.code === status.PERMISSION_DENIED || err?.code === status.FAILED_PRECONDITION;
    // Only a refusal naming this very member counts: the peer applied its removal.
    if (refused && err.metadata?.get(REMOVED_MEMBER_KEY)[0] === String(this.opts.self)) this.opts.onRemoved?.();
    if (refused && err.details !== this.lastRefusal) this.opts.logger?.warn(detail, 'raft peer refused this member');
    else if (this.active) this.opts.logger?.warn(detail, 'raft peer stream lost');
    else this.opts.logger?.debug(detail, 'raft peer stream failed');
    this.lastRefusal = refused ? err.details : undefined;
    this.active = false;
    this.state = 'backoff';
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state !== 'backoff') return;
      this.state = 'idle';
      this.flush();
    }, this.backoff.next());
    this.retryTimer.unref();
    this.opts.onUnreachable();
  }
}
