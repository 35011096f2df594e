/**
 * Spans for what a traced write waits on inside Raft, across members:
 *
 *   follower: <rpc server span> ─ raft.forward ──────────────┐ (traceparent in the Proposal)
 *   leader:                        raft.propose (append → commit)
 *                                   ├ raft.log.fsync  (the group-commit batch; links to every
 *                                   │                  proposal it carried, and they to it)
 *                                   └ raft.apply
 *   (on the member that took the request directly from a client when it leads: raft.submit)
 *
 * The proposing member puts its span's W3C traceparent in the Proposal it hands to Raft
 * (the core only sees opaque bytes); the leader reads it back from each entry it appends.
 * The decorators below wrap the driver's persistence and state-machine ports, so the
 * driver and the core know nothing of tracing. They are installed only when tracing is on:
 * off, no entry is ever decoded for it.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire';
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { Entry } from '../raft/types.js';
import { EntryType } from '../raft/types.js';
import type { RaftLogPersistence } from './ports/raft-log-persistence.js';
import type { StateMachine } from './ports/state-machine.js';

const tracer = trace.getTracer('cairn-raft');
/** Field number of Proposal.traceparent (proto/cairn/internal/v1/command.proto). */
const TRACEPARENT_FIELD = 5;
/** Leader spans open at once (appended, not yet committed); beyond it the oldest end early. */
const MAX_OPEN_PROPOSALS = 10_000;

/** Context key of every apply span of the batch being applied (read by applyBatchSpans). */
const APPLY_BATCH_KEY = createContextKey('cairn.apply_batch');

/** The apply spans of the entries being applied in `ctx` (traced entries only); [] outside an apply. */
export function applyBatchSpans(ctx: Context): readonly Span[] {
  return (ctx.getValue(APPLY_BATCH_KEY) as Span[] | undefined) ?? [];
}

const carrierSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * Starts the span of a proposal made through this member, when the request it serves is
 * traced (a recording span is active); undefined otherwise, at the cost of one lookup.
 */
export function startProposalSpan(forwarded: boolean, memberId: number): { span: Span; traceparent: string } | undefined {
  const active = context.active();
  if (trace.getSpan(active)?.isRecording() !== true) return undefined;
  const span = tracer.startSpan(
    forwarded ? 'raft.forward' : 'raft.submit',
    { attributes: { 'cairn.member_id': String(memberId) } },
    active,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(active, span), carrier, carrierSetter);
  return { span, traceparent: carrier.traceparent ?? '' };
}

/** Ends a span when `done` settles, with an error status if it failed. */
export function endWhenSettled(span: Span, done: Promise<unknown>): void {
  done.then(
    () => span.end(),
    (err: unknown) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      span.end();
    },
  );
}

/** A span around a linearizable read's wait for its read index, when the read is traced. */
export function traceReadIndex(memberId: number, done: Promise<void>): void {
  const active = context.active();
  if (trace.getSpan(active)?.isRecording() !== true) return;
  endWhenSettled(tracer.startSpan('raft.read_index', { attributes: { 'cairn.member_id': String(memberId) } }, active), done);
}

/** Proposal.traceparent of an entry's data, read without decoding the command; '' if none. */
export function readTraceparent(entry: Entry): string {
  if (entry.type !== EntryType.Normal || entry.data.length === 0) return '';
  try {
    const reader = new BinaryReader(entry.data);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag >>> 3 === TRACEPARENT_FIELD && (tag & 7) === 2) return reader.string();
      reader.skip(tag & 7);
    }
  } catch {
    // Not a Proposal (or damaged): nothing to trace; applying will say what is wrong.
  }
  return '';
}

function parentOf(traceparent: string): Context {
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

interface OpenProposal {
  readonly span: Span;
  readonly ctx: Context;
}

/** The leader's per-entry spans, kept from append to apply. */
export class EntryTracer {
  private readonly open = new Map<number, OpenProposal>();

  constructor(
    private readonly memberId: number,
    private readonly isLeader: () => boolean,
  ) {}

  persistence(inner: RaftLogPersistence): RaftLogPersistence {
    return {
      save: (batch) => {
        const traced = this.appended(batch.entries);
        if (traced.length === 0) return inner.save(batch);
        const links: Link[] = traced.slice(1).map((p) => ({ context: p.span.spanContext() }));
        const fsync = tracer.startSpan(
          'raft.log.fsync',
          {
            attributes: {
              'cairn.member_id': String(this.memberId),
              'cairn.batch_entries': batch.entries.length,
              'cairn.synced': batch.mustSync,
            },
            links,
          },
          traced[0]!.ctx,
        );
        for (const p of traced) p.span.addLink({ context: fsync.spanContext() });
        return inner.save(batch).then(
          () => fsync.end(),
          (err: unknown) => {
            fsync.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
            fsync.end();
            throw err;
          },
        );
      },
      compact: (snapshot, compactIndex) => inner.compact(snapshot, compactIndex),
    };
  }

  stateMachine(inner: StateMachine): StateMachine {
    const wrapped: StateMachine = {
      apply: (entries) => {
        const spans = this.committed(entries);
        if (spans.length === 0) return inner.apply(entries);
        // Applied inside the first traced entry's apply span, so what the commit sets off
        // synchronously (watch delivery: server/api/watch-tracing.ts) joins that trace.
        const applyCtx = trace.setSpan(context.active(), spans[0]!).setValue(APPLY_BATCH_KEY, spans);
        const result = context.with(applyCtx, () => inner.apply(entries));
        const end = (): void => spans.forEach((s) => s.end());
        if (result === undefined) {
          end();
          return result;
        }
        return result.then(end, (err: unknown) => {
          for (const s of spans) s.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          end();
          throw err;
        });
      },
      restore: (snapshot) => inner.restore(snapshot),
    };
    if (inner.snapshot !== undefined) {
      const snapshot = inner.snapshot.bind(inner);
      wrapped.snapshot = () => snapshot();
    }
    return wrapped;
  }

  /** Leader: opens a propose span for each traced entry it appends. */
  private appended(entries: readonly Entry[]): OpenProposal[] {
    if (!this.isLeader()) {
      // Leadership moved: what this member appended as leader may never commit here.
      if (this.open.size > 0) this.endAll('leadership lost before commit');
      return [];
    }
    const traced: OpenProposal[] = [];
    for (const entry of entries) {
      const traceparent = readTraceparent(entry);
      if (traceparent === '') continue;
      this.open.get(entry.index)?.span.end(); // replaced by a newer term's entry
      const parent = parentOf(traceparent);
      const span = tracer.startSpan(
        'raft.propose',
        { attributes: { 'cairn.member_id': String(this.memberId), 'raft.index': entry.index, 'raft.term': entry.term } },
        parent,
      );
      const p = { span, ctx: trace.setSpan(parent, span) };
      this.open.set(entry.index, p);
      traced.push(p);
    }
    while (this.open.size > MAX_OPEN_PROPOSALS) {
      const [index, oldest] = this.open.entries().next().value as [number, OpenProposal];
      oldest.span.setStatus({ code: SpanStatusCode.ERROR, message: 'too many proposals in flight to trace' });
      oldest.span.end();
      this.open.delete(index);
    }
    return traced;
  }

  /** Committed entries: ends their propose spans and opens apply spans (on every member). */
  private committed(entries: readonly Entry[]): Span[] {
    const spans: Span[] = [];
    for (const entry of entries) {
      const open = this.open.get(entry.index);
      let parent: Context | undefined;
      if (open !== undefined) {
        open.span.end();
        this.open.delete(entry.index);
        parent = open.ctx;
      } else {
        const traceparent = readTraceparent(entry);
        if (traceparent !== '') parent = parentOf(traceparent);
      }
      if (parent === undefined) continue;
      spans.push(
        tracer.startSpan(
          'raft.apply',
          { attributes: { 'cairn.member_id': String(this.memberId), 'raft.index': entry.index, 'raft.term': entry.term } },
          parent,
        ),
      );
    }
    return spans;
  }

  private endAll(reason: string): void {
    for (const p of this.open.values()) {
      p.span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      p.span.end();
    }
    this.open.clear();
  }
}
