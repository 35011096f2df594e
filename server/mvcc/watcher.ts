import type { Event } from '../../gen/ts/cairn/v1/types.js';
import { Event_EventType } from '../../gen/ts/cairn/v1/types.js';
import type { RevisionEvents } from './events.js';
import type { KeyRange } from './key-range.js';

/**
 * Where a watcher's output goes: the watch stream that owns it. The stream bounds what it
 * holds for all its watchers together; the hub bounds each watcher (see WatchHub).
 */
export interface WatchSink {
  /**
   * Offers one whole revision (the events of it the watcher wants), in revision order. The
   * sink counts accepted events in `queuedEvents` until it hands them to the transport. It
   * refuses (returning false and taking nothing) when its buffer is full, unless it holds
   * nothing at all, so that a watcher can always make progress; the hub then catches that
   * watcher up from storage once the sink has room.
   */
  offer(watcher: Watcher, revision: RevisionEvents): boolean;
  /** Whether the sink would take more now; the hub asks before reading storage for a watcher. */
  hasRoom(): boolean;
  /** Ends the watcher because the history it needs was compacted (after what it already took). */
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
  /**
   * While unsynced: every event below this revision has been offered to the sink. While
   * synced, the hub's published revision says how far the watcher got; this field then only
   * holds a start revision still in the future.
   */
  nextRevision: number;
  /** Events the sink holds for this watcher and has not yet handed to the transport. */
  queuedEvents = 0;
  canceled = false;
  /** True while the watcher is served live from commits rather than from storage. */
  synced = false;
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

  /** Whether the watcher's filters let this kind of event through (keys are matched by WatcherIndex). */
  wantsType(event: Event): boolean {
    return event.type === Event_EventType.EVENT_TYPE_PUT ? !this.noPut : !this.noDelete;
  }
}
