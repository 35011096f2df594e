/**
 * Watchers that survive faults: each watches every workload key from revision 1 and, when
 * its stream breaks (or every few seconds, to exercise resuming), reconnects to another
 * member resuming from the last revision it saw + 1. Everything received is logged for
 * checker/watch-check.ts.
 */
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import { Event_EventType } from '../../../gen/ts/cairn/v1/types.js';
import { WatchCreateRequest, type WatchRequest, type WatchResponse } from '../../../gen/ts/cairn/v1/watch.js';
import type { RevEvent } from '../checker/revision-history.js';
import type { WatchBatch, WatcherLog, WatchProgress } from '../checker/watch-check.js';
import type { ClientPool } from './clients.js';
import type { Rng } from './rng.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Every workload key is k<n>: the range [k, l). */
export const KEY_RANGE = { key: b('k'), rangeEnd: b('l') };

export function toRevEvents(events: WatchResponse['events']): RevEvent[] {
  return events.map((e) => ({
    revision: e.kv!.modRevision,
    key: e.kv!.key.toString('latin1'),
    value: e.type === Event_EventType.EVENT_TYPE_DELETE ? null : e.kv!.value.toString('latin1'),
  }));
}

export class ResilientWatcher {
  readonly batches: WatchBatch[] = [];
  readonly progress: WatchProgress[] = [];
  /** Problems seen on the stream itself (a cancel, e.g. for compaction). */
  readonly problems: string[] = [];
  lastRevision = 0;
  reconnects = 0;
  /** Why streams were left: rotation, canceled, or the stream error's status. */
  readonly reasons = new Map<string, number>();
  private stream: ClientDuplexStream<WatchRequest, WatchResponse> | undefined;
  private stopped = false;
  private rotateTimer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly pool: ClientPool,
    private readonly rng: Rng,
    private readonly rotateMs: number,
  ) {}

  log(): WatcherLog {
    return { name: this.name, startRevision: 1, batches: this.batches, progress: this.progress };
  }

  start(): void {
    this.connect(this.rng.pick(this.pool.names));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.rotateTimer);
    clearInterval(this.progressTimer);
    this.stream?.cancel();
  }

  private connect(member: string): void {
    if (this.stopped) return;
    const stream = this.pool.get(member).watch.watch();
    this.stream = stream;
    let done = false;
    const reconnect = (why: string): void => {
      if (done) return;
      done = true;
      this.reasons.set(why, (this.reasons.get(why) ?? 0) + 1);
      clearTimeout(this.rotateTimer);
      clearInterval(this.progressTimer);
      stream.cancel();
      this.reconnects++;
      const next = this.rng.pick(this.pool.names.filter((n) => n !== member));
      setTimeout(() => this.connect(next), 50 + this.rng.int(200));
    };
    stream.on('data', (r: WatchResponse) => {
      if (done) return; // a late message from a stream we left would interleave with the next
      if (r.canceled) {
        this.problems.push(
          `${this.name}: watch on ${member} canceled at revision ${this.lastRevision}: ${r.cancelReason} (compact revision ${r.compactRevision})`,
        );
        reconnect('canceled');
        return;
      }
      if (r.events.length === 0) {
        if (!r.created && r.header !== undefined) this.progress.push({ member, revision: r.header.revision, lastSeen: this.lastRevision });
        return;
      }
      const events = toRevEvents(r.events);
      this.batches.push({ member, events });
      this.lastRevision = events.at(-1)!.revision;
    });
    stream.on('error', (err: Error & { code?: number }) => reconnect(status[err.code ?? -1] ?? err.message));
    stream.on('end', () => reconnect('end'));
    stream.write({
      request: {
        $case: 'createRequest',
        createRequest: WatchCreateRequest.fromPartial({ ...KEY_RANGE, startRevision: this.lastRevision + 1 }),
      },
    });
    this.rotateTimer = setTimeout(() => reconnect('rotation'), this.rotateMs * (0.5 + this.rng.next()));
    // Progress notifications claim "every event up to R was sent": checked at the end.
    this.progressTimer = setInterval(() => stream.write({ request: { $case: 'progressRequest', progressRequest: {} } }), 700);
  }
}
