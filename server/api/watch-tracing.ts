/**
 * `watch.deliver` spans: what a traced write handed to watch streams, one span per commit
 * and stream (never one per event or per watcher).
 *
 * The hub publishes a commit synchronously inside the state machine's apply, which the
 * driver's tracing decorator runs inside the apply span of the first traced entry of the
 * batch (server/node/raft-tracing.ts), on every member: the leader from its propose span,
 * a follower from the Proposal's traceparent. So the active context here is that apply
 * span, and each delivery span is its child, linked to the apply spans of the other traced
 * entries of the same batch (as the group-commit fsync span is).
 *
 * The span marks the hand-off to the stream's bounded buffer (the fan-out); the write to
 * the client follows in the stream's flush. Installed only when tracing is on; for a commit
 * with no traced (sampled) entry the hub records nothing at all.
 */
import { context, trace, type Context, type Link } from '@opentelemetry/api';
import type { DeliveryObserver, DeliveryRecorder } from '../mvcc/watch-hub.js';
import type { RevisionEvents } from '../mvcc/events.js';
import type { Watcher, WatchSink } from '../mvcc/watcher.js';
import { applyBatchSpans } from '../node/raft-tracing.js';

const tracer = trace.getTracer('cairn-watch');

interface StreamDelivery {
  readonly watchers: Set<Watcher>;
  events: number;
  firstRevision: number;
  lastRevision: number;
}

export function watchDeliveryTracer(memberId: number): DeliveryObserver {
  /** A stable id per watch stream for as long as it lives, to tell streams apart in traces. */
  const streamIds = new WeakMap<WatchSink, number>();
  let nextStreamId = 1;
  const streamId = (sink: WatchSink): number => {
    let id = streamIds.get(sink);
    if (id === undefined) streamIds.set(sink, (id = nextStreamId++));
    return id;
  };
  return {
    publishing: (): DeliveryRecorder | undefined => {
      const parent = context.active();
      if (trace.getSpan(parent)?.isRecording() !== true) return undefined;
      return new CommitRecorder(memberId, parent, streamId);
    },
  };
}

class CommitRecorder implements DeliveryRecorder {
  private readonly streams = new Map<WatchSink, StreamDelivery>();

  constructor(
    private readonly memberId: number,
    private readonly parent: Context,
    private readonly streamId: (sink: WatchSink) => number,
  ) {}

  offered(watcher: Watcher, rev: RevisionEvents): void {
    const d = this.streams.get(watcher.sink);
    if (d === undefined) {
      const watchers = new Set([watcher]);
      this.streams.set(watcher.sink, { watchers, events: rev.events.length, firstRevision: rev.revision, lastRevision: rev.revision });
      return;
    }
    d.watchers.add(watcher);
    d.events += rev.events.length;
    d.lastRevision = rev.revision;
  }

  done(): void {
    if (this.streams.size === 0) return;
    // The first apply span is the parent; the batch's other traced entries are linked.
    const links: Link[] = applyBatchSpans(this.parent)
      .slice(1)
      .map((s) => ({ context: s.spanContext() }));
    for (const [sink, d] of this.streams) {
      tracer
        .startSpan(
          'watch.deliver',
          {
            attributes: {
              'cairn.member_id': String(this.memberId),
              'cairn.watch_stream_id': this.streamId(sink),
              'cairn.watchers_matched': d.watchers.size,
              'cairn.events': d.events,
              'cairn.revision': d.lastRevision,
              'cairn.first_revision': d.firstRevision,
            },
            links,
          },
          this.parent,
        )
        .end();
    }
  }
}
