import type { Logger } from 'pino';
import { invariant } from '../invariant.js';
import type { MvccStore } from '../mvcc/kv-store.js';
import { importSnapshot } from '../mvcc/snapshot.js';
import type { WatchHub } from '../mvcc/watch-hub.js';
import type { Snapshot } from '../raft/types.js';
import type { StorageEngine } from '../storage/engine.js';
import type { AlarmStore } from './alarm-store.js';
import type { AuthStore } from './auth/auth-store.js';
import type { SnapshotInstaller } from './replicated-state-machine.js';

/**
 * Snapshot data received from the leader, held until the Raft core accepts the snapshot.
 * The core may refuse a snapshot (it is stale), so the data is installed only when the
 * driver restores it, never on arrival. At most one snapshot waits: a newer one replaces it.
 */
export class SnapshotInbox implements SnapshotInstaller {
  private pending: { index: number; term: number; data: Buffer } | undefined;

  constructor(
    private readonly engine: StorageEngine,
    private readonly store: MvccStore,
    private readonly hub: WatchHub,
    private readonly auth: AuthStore,
    private readonly alarms: AlarmStore,
    private readonly logger: Logger,
  ) {}

  stage(index: number, term: number, data: Buffer): void {
    this.pending = { index, term, data };
  }

  async install(snapshot: Snapshot): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    if (pending === undefined || pending.index !== snapshot.index || pending.term !== snapshot.term) {
      // Nothing received for it: acceptable only if the store already holds that state.
      invariant(
        this.store.consistentIndex >= snapshot.index,
        () => `no data for snapshot at index ${snapshot.index} term ${snapshot.term}`,
      );
      return;
    }
    // The data is the leader's live store, at or past the snapshot's index; entries up to
    // its consistent index are then skipped by the state machine.
    let records = 0;
    await this.store.replaceContents(async () => {
      ({ records } = await importSnapshot(this.engine, single(pending.data)));
      // Users, roles and alarms came with the snapshot (they live in the 'm' keyspace).
      await this.auth.load(this.engine);
      await this.alarms.load(this.engine);
    });
    this.hub.resyncAll();
    this.logger.info(
      { index: snapshot.index, term: snapshot.term, records, revision: this.store.currentRevision },
      'installed snapshot from the leader',
    );
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async generator is the plain way to write this AsyncIterable; it has nothing to wait for
async function* single(data: Buffer): AsyncIterable<Buffer> {
  yield data;
}
