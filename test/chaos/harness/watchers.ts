/**
 * Watchers that survive faults: each watches every workload key from revision 1 and, when
 * its stream breaks (or every few seconds, to exercise resuming), reconnects to another
 * member resuming from the last revision it saw + 1. Everything received is logged for
 * checker/watch-check.ts.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { Event_EventType } from '../../../gen/ts/cairn/v1/types.js';
import { WatchCreateRequest, type WatchRequest, type WatchResponse } from '../../../gen/ts/cairn/v1/watch.js';
import type { RevEvent } from '../checker/revision-history.js';
import type { WatchBatch, WatcherLog } from '../checker/watch-check.js';
import type { ClientPool } from './clients.js';
import { Rng } from './rng.js';

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
  /** Problems seen on the stream itself (a cancel, e.g. for compaction). */
  readonly problems: string[] = [];
  lastRevision = 0;
  reconnects = 0;
  private stream: ClientDuplexStream<WatchRequest, WatchResponse> | undefined;
  private stopped = false;
  private rotateTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly pool: ClientPool,
    private readonly rng: Rng,
    private readonly rotateMs: number,
  ) {}

  log(): WatcherLog {
    return { name: this.name, startRevision: 1, batches: this.batches };
  }

  start(): void {
    this.connect(this.rng.pick(this.pool.names));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.rotateTimer);
    this.stream?.cancel();
  }

  private connect(member: string): void {
    if (this.stopped) return;
    const stream = this.pool.get(member).watch.watch();
    this.stream = stream;
    let done = false;
    const reconnect = (): void => {
      if (done) return;
      done = true;
      clearTimeout(this.rotateTimer);
      stream.cancel();
      this.reconnects++;
      const next = this.rng.pick(this.pool.names.filter((n) => n !== member));
      setTimeout(() => this.connect(next), 50 + this.rng.int(200));
    };
    stream.on('data', (r: WatchResponse) => {
      if (done) return; // a late message from a stream we left would interleave with the next
      if (r.canceled) {
        this.problems.push(`${this.name}: watch on ${member} canceled at revision ${this.lastRevision}: ${r.cancelReason} (compact revision ${r.compactRevision})`);
        reconnect();
        return;
      }
      if (r.events.length === 0) return;
      const events = toRevEvents(r.events);
      this.batches.push({ member, events });
      this.lastRevision = events.at(-1)!.revision;
    });
    stream.on('error', reconnect);
    stream.on('end', reconnect);
    stream.write({ request: { $case: 'createRequest', createRequest: WatchCreateRequest.fromPartial({ ...KEY_RANGE, startRevision: this.lastRevision + 1 }) } });
    this.rotateTimer = setTimeout(reconnect, this.rotateMs * (0.5 + this.rng.next()));
  }
}
