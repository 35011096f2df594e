import type { Logger } from 'pino';
import type { Event } from '../../gen/ts/cairn/v1/types.js';
import type { RevisionEvents } from './events.js';
import type { MvccStore } from './kv-store.js';
import type { Watcher } from './watcher.js';
import { RecentRevisions } from './recent-revisions.js';
import { WatcherIndex } from './watcher-index.js';

export interface WatchHubLimits {
  /** Events a watcher may have queued before it stops being fed live and catches up later. */
  maxWatcherBufferEvents: number;
  /** Events read from storage per catch-up step. */
  watchCatchUpBatchEvents: number;
  /** Bytes of recent revisions kept in memory for watchers catching up. */
  watchCacheBytes: number;
}

/**
 * Told of live deliveries, for tracing (server/node/watch-tracing.ts). `publishing` is asked
 * once per commit and returns a recorder only when that commit is worth recording (a traced
 * write): otherwise the hub records nothing, and with no observer it asks nothing.
 */
export interface DeliveryObserver {
  publishing(revisions: readonly RevisionEvents[]): DeliveryRecorder | undefined;
}
export interface DeliveryRecorder {
  /** A watcher's sink took one revision (the events of it the watcher wants). */
  offered(watcher: Watcher, revision: RevisionEvents): void;
  /** The commit has been offered to every synced watcher. */
  done(): void;
}

/**
 * Feeds watchers, in the spirit of etcd's watchable store.
 *
 * Synced watchers are indexed by key and range (WatcherIndex), so a commit costs
 * O(matching watchers): each gets the commit's revisions offered to its stream. A watcher
 * whose own buffer is full, whose stream's buffer is full, or that needs previous versions
 * the commit did not load falls out of the synced group at the first revision it could not
 * take, and is unsynced from then on.
 *
 * Unsynced watchers (also those that start in the past) catch up from history in rounds.
 * A round takes every unsynced watcher that has room, lowest next revision first, and
 * reads history once for all of them from the lowest revision any of them needs (one read
 * serves the whole group; watchers beyond what that read reached are served by the next
 * read of the round). History comes from a bounded window of recent revisions when it
 * holds them (RecentRevisions: the same objects the live watchers got, nothing decoded
 * again) and from storage otherwise. A watcher that reaches the current revision is synced
 * again, with no await between the check and the move, so no commit slips between history
 * and live.
 *
 * Writers never wait for watchers, and no stream holds more than its bounded buffer: what
 * does not fit is read again from storage when there is room.
 */
export class WatchHub {
  private readonly synced = new WatcherIndex();
  private readonly unsynced = new Set<Watcher>();
  private readonly recent: RecentRevisions;
  /** Every event up to this revision has been offered to every synced watcher that wants it. */
  private publishedRevision: number;
  private catchUpRunning = false;
  private catchUpScheduled = false;
  /** Set when someone asks for a round while one runs: run another after it. */
  private catchUpWanted = false;
  private deliveryObserver: DeliveryObserver | undefined;

  constructor(
    private readonly store: MvccStore,
    private readonly limits: WatchHubLimits,
    private readonly logger: Logger,
  ) {
    this.publishedRevision = store.currentRevision;
    this.recent = new RecentRevisions(limits.watchCacheBytes);
    store.onCommit((revisions) => this.publish(revisions));
  }

  /** Installs the observer of live deliveries (tracing on). */
  observeDelivery(observer: DeliveryObserver): void {
    this.deliveryObserver = observer;
  }

  /** Watchers fed live (synced) and those catching up from history (unsynced: slow or starting in the past). */
  watcherCounts(): { synced: number; unsynced: number } {
    return { synced: this.synced.size, unsynced: this.unsynced.size };
  }

  /** Registers a watcher whose nextRevision is its start revision (0: from the next change). */
  add(watcher: Watcher): void {
    if (watcher.prevKv) this.store.prevKvWatchers++;
    if (watcher.nextRevision === 0) watcher.nextRevision = this.store.currentRevision + 1;
    if (watcher.nextRevision > this.store.currentRevision) this.markSynced(watcher);
    else {
      this.unsynced.add(watcher);
      this.wake();
    }
  }

  remove(watcher: Watcher): void {
    if (watcher.canceled) return;
    watcher.canceled = true;
    if (watcher.prevKv) this.store.prevKvWatchers--;
    if (watcher.synced) this.synced.delete(watcher);
    this.unsynced.delete(watcher);
  }

  /**
   * After the store was replaced by a snapshot, no live commit stream connects the old state
   * to the new one: every watcher re-reads what it has not seen from storage (and is told of
   * a compaction if that history is gone).
   */
  resyncAll(): void {
    for (const watcher of this.synced.all()) this.unsync(watcher, this.publishedRevision + 1);
    this.publishedRevision = this.store.currentRevision;
    this.recent.clear();
    this.wake();
  }

  /**
   * Asks for a catch-up round soon: a sink calls it when it has room again, so that its
   * unsynced watchers can read on. Cheap when nothing is unsynced; rounds never overlap.
   */
  wake(): void {
    if (this.unsynced.size === 0) return;
    if (this.catchUpRunning) {
      this.catchUpWanted = true;
      return;
    }
    if (this.catchUpScheduled) return;
    this.catchUpScheduled = true;
    setImmediate(() => {
      this.catchUpScheduled = false;
      void this.runCatchUp();
    });
  }

  /**
   * The revision up to which every event of this watcher has been offered to its sink. The
   * sink knows which of those it still holds.
   */
  progressRevision(watcher: Watcher): number {
    const reached = watcher.synced ? this.publishedRevision : watcher.nextRevision - 1;
    return Math.min(reached, this.store.currentRevision);
  }

  // Live

  private publish(revisions: RevisionEvents[]): void {
    const fallen: Watcher[] = [];
    if (this.synced.size > 0) {
      const recorder = this.deliveryObserver?.publishing(revisions);
      for (const rev of revisions) {
        selectFor(this.synced, rev, (watcher, selected) => {
          if (!watcher.synced) return; // it fell out at an earlier revision of this batch
          if ((watcher.prevKv && !selected.prevKvLoaded) || !this.offer(watcher, selected)) {
            // Everything before this revision was taken; this one and later are read from history.
            watcher.synced = false;
            watcher.nextRevision = selected.revision;
            fallen.push(watcher);
          } else recorder?.offered(watcher, selected);
        });
      }
      recorder?.done();
    }
    this.publishedRevision = revisions[revisions.length - 1]!.revision;
    this.recent.append(revisions);
    for (const watcher of fallen) {
      this.synced.delete(watcher);
      this.unsynced.add(watcher);
    }
    if (fallen.length > 0) this.wake();
  }

  /** Offers one revision to a watcher within its own bound and its sink's. */
  private offer(watcher: Watcher, rev: RevisionEvents): boolean {
    if (watcher.queuedEvents > 0 && watcher.queuedEvents + rev.events.length > this.limits.maxWatcherBufferEvents) return false;
    return watcher.sink.offer(watcher, rev);
  }

  private markSynced(watcher: Watcher): void {
    watcher.synced = true;
    this.unsynced.delete(watcher);
    this.synced.add(watcher);
  }

  private unsync(watcher: Watcher, nextRevision: number): void {
    this.synced.delete(watcher);
    watcher.synced = false;
    watcher.nextRevision = Math.max(watcher.nextRevision, nextRevision);
    this.unsynced.add(watcher);
  }

  // Catch-up

  private async runCatchUp(): Promise<void> {
    if (this.catchUpRunning) {
      this.catchUpWanted = true;
      return;
    }
    this.catchUpRunning = true;
    try {
      for (;;) {
        this.catchUpWanted = false;
        const progressed = await this.catchUpRound();
        if (!progressed && !this.catchUpWanted) return;
        // Let commits, writes to clients and other work in between rounds.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.catchUpRunning = false;
    }
  }

  /** One round over the unsynced watchers that have room; true if any of them advanced. */
  private async catchUpRound(): Promise<boolean> {
    const ready: Watcher[] = [];
    let progressed = false;
    for (const watcher of this.unsynced) {
      if (watcher.nextRevision < this.store.compactedRevision) {
        this.cancelCompacted(watcher);
      } else if (watcher.nextRevision > this.store.currentRevision) {
        this.markSynced(watcher);
        progressed = true;
      } else if (watcher.queuedEvents < this.limits.maxWatcherBufferEvents && watcher.sink.hasRoom()) {
        ready.push(watcher);
      }
    }
    ready.sort((a, b) => a.nextRevision - b.nextRevision);
    let i = 0;
    while (i < ready.length) {
      const from = ready[i]!.nextRevision;
      const to = this.store.currentRevision;
      let withPrevKv = false;
      for (let k = i; k < ready.length && !withPrevKv; k++) withPrevKv = ready[k]!.prevKv;
      let read: { revisions: RevisionEvents[]; through: number };
      try {
        read =
          this.recent.read(from, to, this.limits.watchCatchUpBatchEvents, withPrevKv) ??
          (await this.store.readEvents(from, to, this.limits.watchCatchUpBatchEvents, withPrevKv));
      } catch (err) {
        // A storage read failed; these watchers cannot be served correctly any more.
        this.logger.error({ err, watchers: ready.length - i }, 'watch catch-up failed');
        for (const watcher of ready.slice(i)) {
          if (watcher.canceled) continue;
          this.remove(watcher);
          watcher.sink.compacted(watcher, this.store.compactedRevision);
        }
        return true;
      }
      let j = i;
      while (j < ready.length && ready[j]!.nextRevision <= read.through) j++;
      if (this.serveFromStorage(ready.slice(i, j), read.revisions, read.through)) progressed = true;
      i = j;
    }
    return progressed;
  }

  /**
   * Offers one storage read to a group of unsynced watchers, each from its own next
   * revision, until its own or its sink's buffer is full. True if any advanced.
   */
  private serveFromStorage(group: Watcher[], revisions: RevisionEvents[], through: number): boolean {
    const index = new WatcherIndex();
    const members: Watcher[] = [];
    for (const watcher of group) {
      if (watcher.canceled || watcher.synced) continue;
      if (watcher.nextRevision < this.store.compactedRevision) {
        // Compacted while we read: what was read may have a hole.
        this.cancelCompacted(watcher);
        continue;
      }
      index.add(watcher);
      members.push(watcher);
    }
    if (members.length === 0) return false;
    let progressed = false;
    const full = new Set<Watcher>();
    for (const rev of revisions) {
      if (index.size === 0) break;
      const stopped: Watcher[] = [];
      selectFor(index, rev, (watcher, selected) => {
        if (this.offer(watcher, selected)) {
          watcher.nextRevision = selected.revision + 1;
          progressed = true;
        } else {
          stopped.push(watcher);
        }
      });
      for (const watcher of stopped) {
        index.delete(watcher);
        full.add(watcher);
      }
    }
    for (const watcher of members) {
      if (!full.has(watcher) && watcher.nextRevision <= through) {
        watcher.nextRevision = through + 1;
        progressed = true;
      }
      // No await since the check: a commit can't slip between storage and live.
      if (watcher.nextRevision > this.store.currentRevision) this.markSynced(watcher);
    }
    return progressed;
  }

  private cancelCompacted(watcher: Watcher): void {
    this.remove(watcher);
    watcher.sink.compacted(watcher, this.store.compactedRevision);
  }
}

/**
 * Calls fn for each watcher of the index that wants some of rev's events, with those events
 * (the same object when it wants them all, so many watchers share one). Skips revisions
 * below a watcher's next revision.
 */
function selectFor(index: WatcherIndex, rev: RevisionEvents, fn: (watcher: Watcher, selected: RevisionEvents) => void): void {
  if (rev.events.length === 1) {
    const event = rev.events[0]!;
    index.match(event.kv!.key.toString('latin1'), (watcher) => {
      if (rev.revision >= watcher.nextRevision && watcher.wantsType(event)) fn(watcher, rev);
    });
    return;
  }
  const subsets = new Map<Watcher, Event[]>();
  for (const event of rev.events) {
    index.match(event.kv!.key.toString('latin1'), (watcher) => {
      if (rev.revision < watcher.nextRevision || !watcher.wantsType(event)) return;
      const subset = subsets.get(watcher);
      if (subset === undefined) subsets.set(watcher, [event]);
      else subset.push(event);
    });
  }
  for (const [watcher, events] of subsets) {
    fn(watcher, events.length === rev.events.length ? rev : { revision: rev.revision, events, prevKvLoaded: rev.prevKvLoaded });
  }
}
