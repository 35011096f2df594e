/**
 * Spans for a snapshot transfer, one trace from the leader to the follower's install:
 *
 *   leader:   raft.snapshot.send      (root: no request caused it; from the source being
 *     │                                asked for the data until the core is told the outcome)
 *   follower: └ raft.snapshot.receive (the whole snapshot arrived; handed to the core)
 *               └ raft.snapshot.install (the store replaced by the snapshot's data)
 *
 * A snapshot is sent because a follower fell behind the leader's log, not because of a
 * request, so the send span starts a trace of its own; its W3C traceparent travels with
 * the transfer (gRPC metadata of SendSnapshot), so the follower's spans join it. Attributes
 * carry the member ids and the snapshot's index and term, which is what to search by.
 *
 * Everything here wraps ports the main wiring hands to the transport (the snapshot source,
 * the status reporter, the snapshot delivery, the installer): the transport, the driver and
 * the core know nothing of tracing. Installed only when tracing is on.
 */
import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { Message } from '../raft/message.js';
import type { NodeId, Snapshot } from '../raft/types.js';
import type { ReceivedSnapshot } from './incoming-snapshot.js';
import type { PeerStatusReporter, SnapshotChunks, SnapshotSource } from './types.js';

const tracer = trace.getTracer('cairn-transport');
/** Received snapshots whose install span may still come (the core may refuse one: bounded). */
const MAX_AWAITING_INSTALL = 4;

type DeliverSnapshot = (message: Message, file: ReceivedSnapshot, traceparent?: string) => void | Promise<void>;

interface Sending {
  readonly span: Span;
  bytes: number;
}

export class SnapshotTracer {
  /** Transfers in flight, by peer (the transport runs at most one per peer). */
  private readonly sending = new Map<NodeId, Sending>();
  /** Receive spans' contexts, by "index/term", waiting for the core to install that snapshot. */
  private readonly received = new Map<string, Context>();

  constructor(
    private readonly memberId: number,
    /** The transport's wire chunk size, to report the chunks a transfer took. */
    private readonly chunkBytes: number,
  ) {}

  /** Leader: opens the send span when the transport asks for a snapshot's data, and counts it. */
  source(inner: SnapshotSource): SnapshotSource {
    return (msg) => {
      this.end(msg.to, 'superseded by a newer transfer');
      const span = tracer.startSpan(
        'raft.snapshot.send',
        {
          root: true,
          attributes: {
            'cairn.member_id': String(this.memberId),
            'cairn.to': String(msg.to),
            'raft.term': msg.term,
            'raft.snapshot.index': msg.snapshot?.index ?? 0,
            'raft.snapshot.term': msg.snapshot?.term ?? 0,
          },
        },
        ROOT_CONTEXT,
      );
      const sending: Sending = { span, bytes: 0 };
      this.sending.set(msg.to, sending);
      let chunks: SnapshotChunks;
      try {
        chunks = inner(msg);
      } catch (err) {
        this.end(msg.to, `snapshot source failed: ${(err as Error).message}`);
        throw err;
      }
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
      return {
        ...(chunks.totalBytes !== undefined ? { totalBytes: chunks.totalBytes } : {}),
        ...(carrier.traceparent !== undefined ? { traceparent: carrier.traceparent } : {}),
        async *[Symbol.asyncIterator]() {
          for await (const piece of chunks) {
            sending.bytes += piece.byteLength;
            yield piece;
          }
        },
      };
    };
  }

  /** Leader: ends the send span when the transport reports the transfer's outcome. */
  reporter(inner: PeerStatusReporter): PeerStatusReporter {
    return {
      reportUnreachable: (id) => inner.reportUnreachable(id),
      reportSnapshot: (id, failed) => {
        this.end(id, failed ? 'the peer did not apply the snapshot' : undefined);
        inner.reportSnapshot(id, failed);
      },
    };
  }

  /** Follower: a span for handing a received snapshot to the core, in the sender's trace. */
  deliver(inner: DeliverSnapshot): DeliverSnapshot {
    return (message, file, traceparent) => {
      const parent = traceparent === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, { traceparent });
      const index = message.snapshot?.index ?? 0;
      const term = message.snapshot?.term ?? 0;
      const span = tracer.startSpan(
        'raft.snapshot.receive',
        {
          attributes: {
            'cairn.member_id': String(this.memberId),
            'cairn.from': String(message.from),
            'raft.snapshot.index': index,
            'raft.snapshot.term': term,
            'raft.snapshot.bytes': file.bytes,
          },
        },
        parent,
      );
      const ctx = trace.setSpan(parent, span);
      this.received.set(`${index}/${term}`, ctx);
      while (this.received.size > MAX_AWAITING_INSTALL) this.received.delete(this.received.keys().next().value!);
      return settle(span, () => context.with(ctx, () => inner(message, file, traceparent)));
    };
  }

  /** Follower: a span for installing a snapshot the core accepted, child of its receive span. */
  install(inner: (snapshot: Snapshot) => Promise<void>): (snapshot: Snapshot) => Promise<void> {
    return (snapshot) => {
      const key = `${snapshot.index}/${snapshot.term}`;
      const parent = this.received.get(key);
      this.received.delete(key);
      // Not received here (restored from local data at start-up): nothing to trace.
      if (parent === undefined) return inner(snapshot);
      const span = tracer.startSpan(
        'raft.snapshot.install',
        {
          attributes: {
            'cairn.member_id': String(this.memberId),
            'raft.snapshot.index': snapshot.index,
            'raft.snapshot.term': snapshot.term,
          },
        },
        parent,
      );
      return settle(span, () => context.with(trace.setSpan(parent, span), () => inner(snapshot))) as Promise<void>;
    };
  }

  private end(peer: NodeId, failure: string | undefined): void {
    const sending = this.sending.get(peer);
    if (sending === undefined) return;
    this.sending.delete(peer);
    sending.span.setAttributes({
      'raft.snapshot.bytes': sending.bytes,
      'raft.snapshot.chunks': Math.ceil(sending.bytes / this.chunkBytes),
    });
    if (failure !== undefined) sending.span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    sending.span.end();
  }
}

/** Runs f and ends the span when its result settles (at once if it returns no promise). */
function settle<T>(span: Span, f: () => T | Promise<T>): T | Promise<T> {
  const fail = (err: unknown): never => {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    span.end();
    throw err;
  };
  let result: T | Promise<T>;
  try {
    result = f();
  } catch (err) {
    return fail(err);
  }
  if (!(result instanceof Promise)) {
    span.end();
    return result;
  }
  return result.then((v) => {
    span.end();
    return v;
  }, fail);
}
