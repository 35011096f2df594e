import type { Logger } from 'pino';
import type { RevisionEvents } from './events.js';
import type { MvccStore } from './kv-store.js';
import { countEvents, type Watcher } from './watcher.js';

export interface WatchHubLimits {
  /** Events a watcher may have queued before it stops being fed live and catches up later. */
  maxWatcherBufferEvents: number;
  /** Events read from storage per catch-up step. */
  watchCatchUpBatchEvents: number;
}

/**
 * Feeds watchers, in the spirit of etcd's watchable store. A synced watcher gets each
 * commit's events as they are published. A watcher that starts in the past, whose buffer is
 * full (a slow consumer), or that needs previous versions the commit did not load, is
 * unsynced: it reads history from storage in bounded steps, only while it has room, and
 * becomes synced again when it reaches the current revision. Writers never wait for
 * watchers, and no watcher holds more than about one buffer of events in memory.
 */
export class WatchHub {
  private readonly synced = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();

  constructor(
    private readonly store: MvccStore,
    private readonly limits: WatchHubLimits,
    private readonly logger: Logger,
  ) {
    store.onCommit((revisions) => this.publish(revisions));
  }

  /** Registers a watcher whose nextRevision is its start revision (0: from the next change). */
  add(watcher: Watcher): void {
    if (watcher.prevKv) this.store.prevKvWatchers++;
    if (watcher.nextRevision === 0) watcher.nextRevision = this.store.currentRevision + 1;
    if (watcher.nextRevision > this.store.currentRevision) this.markSynced(watcher);
    else this.markUnsynced(watcher);
  }

  remove(watcher: Watcher): void {
    if (watcher.canceled) return;
    watcher.canceled = true;
    if (watcher.prevKv) this.store.prevKvWatchers--;
    this.synced.delete(watcher);
    this.unsynced.delete(watcher);
  }

  /**
   * After the store was replaced by a snapshot, no live commit stream connects the old state
   * to the new one: every watcher re-reads what it has not seen from storage (and is told of
   * a compaction if that history is gone).
   */
  resyncAll(): void {
    for (const watcher of [...this.synced]) this.markUnsynced(watcher);
  }

  /** Called by the sink when a watcher's queue drained: an unsynced watcher may read on. */
  drained(watcher: Watcher): void {
    if (!watcher.synced && !watcher.canceled) this.startCatchUp(watcher);
  }

  /** The revision up to which every event of this watcher has been queued. */
  progressRevision(watcher: Watcher): number {
    return Math.min(watcher.nextRevision - 1, this.store.currentRevision);
  }

  private publish(revisions: RevisionEvents[]): void {
    const last = revisions[revisions.length - 1]!.revision;
    for (const watcher of this.synced) {
      const selected = watcher.select(revisions);
      if (selected.length > 0) {
        const needsPrev = watcher.prevKv && selected.some((r) => !r.prevKvLoaded);
        const events = countEvents(selected);
        const full = watcher.queuedEvents > 0 && watcher.queuedEvents + events > this.limits.maxWatcherBufferEvents;
        if (needsPrev || full) {
          // Leave nextRevision where it is: these revisions will be read again from storage.
          this.markUnsynced(watcher);
          continue;
        }
        watcher.sink.send(watcher, selected);
      }
      if (last >= watcher.nextRevision) watcher.nextRevision = last + 1;
    }
  }

  private markSynced(watcher: Watcher): void {
    watcher.synced = true;
    this.unsynced.delete(watcher);
    this.synced.add(watcher);
  }

  private markUnsynced(watcher: Watcher): void {
    watcher.synced = false;
    this.synced.delete(watcher);
    this.unsynced.add(watcher);
    this.startCatchUp(watcher);
  }

  private startCatchUp(watcher: Watcher): void {
    if (watcher.catchingUp || watcher.queuedEvents >= this.limits.maxWatcherBufferEvents) return;
    watcher.catchingUp = true;
    this.catchUp(watcher)
      .catch((err: unknown) => {
        // A storage read failed; the watcher cannot be served correctly any more.
        this.logger.error({ err, watchId: watcher.id }, 'watch catch-up failed');
        this.remove(watcher);
        watcher.sink.compacted(watcher, this.store.compactedRevision);
      })
      .finally(() => (watcher.catchingUp = false));
  }

  private async catchUp(watcher: Watcher): Promise<void> {
    while (!watcher.canceled) {
      if (watcher.nextRevision < this.store.compactedRevision) return this.cancelCompacted(watcher);
      const to = this.store.currentRevision;
      if (watcher.nextRevision > to) {
        // No await between this check and the move: no commit can slip in between.
        this.markSynced(watcher);
        return;
      }
      if (watcher.queuedEvents >= this.limits.maxWatcherBufferEvents) return; // resumes on drain
      const { revisions, through } = await this.store.readEvents(
        watcher.nextRevision,
        to,
        this.limits.watchCatchUpBatchEvents,
        watcher.prevKv,
      );
      if (watcher.canceled) return;
      if (watcher.nextRevision < this.store.compactedRevision) return this.cancelCompacted(watcher);
      const selected = watcher.select(revisions);
      if (selected.length > 0) watcher.sink.send(watcher, selected);
      watcher.nextRevision = through + 1;
    }
  }

  private cancelCompacted(watcher: Watcher): void {
    this.remove(watcher);
    watcher.sink.compacted(watcher, this.store.compactedRevision);
  }
}
