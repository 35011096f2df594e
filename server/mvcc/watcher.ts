import type { Event } from '../../gen/ts/cairn/v1/types.js';
import { Event_EventType } from '../../gen/ts/cairn/v1/types.js';
import type { RevisionEvents } from './events.js';
import { rangeContains, type KeyRange } from './key-range.js';

/** Where a watcher's output goes: the watch stream that owns it. */
export interface WatchSink {
  /** Queues the events of whole revisions, in order; the sink counts them in `queuedEvents`. */
  send(watcher: Watcher, revisions: RevisionEvents[]): void;
  /** Ends the watcher because the history it needs was compacted. */
  compacted(watcher: Watcher, compactedRevision: number): void;
}

export interface WatcherOptions {
  id: number;
  range: KeyRange;
  /** First revision the watcher wants. */
  startRevision: number;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
  fragment: boolean;
}

/** One watch: what it selects, how far it has been served, and how much waits to be sent. */
export class Watcher {
  readonly id: number;
  readonly range: KeyRange;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  /** Every event below this revision has been queued for sending. */
  nextRevision: number;
  /** Events queued on the stream and not yet handed to the transport. */
  queuedEvents = 0;
  canceled = false;
  /** True while the watcher is served live from commits rather than from storage. */
  synced = false;
  catchingUp = false;
  /** Whether events were sent since the last periodic progress notification. */
  sentSinceProgress = false;

  constructor(
    options: WatcherOptions,
    readonly sink: WatchSink,
  ) {
    this.id = options.id;
    this.range = options.range;
    this.prevKv = options.prevKv;
    this.noPut = options.noPut;
    this.noDelete = options.noDelete;
    this.progressNotify = options.progressNotify;
    this.fragment = options.fragment;
    this.nextRevision = options.startRevision;
  }

  /** The revisions at or after nextRevision, each cut down to the events this watcher wants. */
  select(revisions: RevisionEvents[]): RevisionEvents[] {
    const selected: RevisionEvents[] = [];
    for (const rev of revisions) {
      if (rev.revision < this.nextRevision) continue;
      const events = rev.events.filter((e) => this.wants(e));
      if (events.length > 0) selected.push({ revision: rev.revision, events, prevKvLoaded: rev.prevKvLoaded });
    }
    return selected;
  }

  private wants(event: Event): boolean {
    if (event.type === Event_EventType.EVENT_TYPE_PUT ? this.noPut : this.noDelete) return false;
    return rangeContains(this.range, event.kv!.key.toString('latin1'));
  }
}

export function countEvents(revisions: RevisionEvents[]): number {
  let n = 0;
  for (const r of revisions) n += r.events.length;
  return n;
}
