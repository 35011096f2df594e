import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { invariant } from '../invariant.js';
import type { MvccStore } from '../mvcc/kv-store.js';
import { importSnapshot } from '../mvcc/snapshot.js';
import type { WatchHub } from '../mvcc/watch-hub.js';
import type { Snapshot } from '../raft/types.js';
import type { StorageEngine } from '../storage/engine.js';
import { readChecksummedFile } from '../streams/checksummed-file-reader.js';
import type { ChecksummedFile } from '../streams/checksummed-file-writer.js';
import type { AlarmStore } from './alarm-store.js';
import type { AuthStore } from './auth/auth-store.js';
import type { SnapshotInstaller } from './replicated-state-machine.js';

/**
 * Snapshot data received from the leader, held (as a file in the data dir) until the Raft
 * core accepts the snapshot. The core may refuse a snapshot (it is stale), so the data is
 * installed only when the driver restores it, never on arrival. At most one snapshot
 * waits: a newer one replaces it, and the older file is deleted.
 *
 * The install streams the file into the store in bounded batches (mvcc/snapshot.ts), so
 * memory does not grow with the snapshot. Crash safety is the import's: the records are
 * staged and checked, and only a synced marker makes the replacement happen, which a
 * restart completes; the file itself is not needed after a crash (restart deletes it).
 */
export class SnapshotInbox implements SnapshotInstaller {
  private pending: { index: number; term: number; file: ChecksummedFile } | undefined;

  constructor(
    private readonly engine: StorageEngine,
    private readonly store: MvccStore,
    private readonly hub: WatchHub,
    private readonly auth: AuthStore,
    private readonly alarms: AlarmStore,
    private readonly logger: Logger,
  ) {}

  /** Takes ownership of `file`: it is deleted once installed or replaced. */
  stage(index: number, term: number, file: ChecksummedFile): void {
    const replaced = this.pending;
    this.pending = { index, term, file };
    if (replaced !== undefined && replaced.file.path !== file.path) void this.remove(replaced.file);
  }

  async install(snapshot: Snapshot): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    if (pending === undefined || pending.index !== snapshot.index || pending.term !== snapshot.term) {
      if (pending !== undefined) void this.remove(pending.file);
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
    try {
      await this.store.replaceContents(async () => {
        // The reader proves the file still holds what was received (size and CRC-32).
        ({ records } = await importSnapshot(this.engine, readChecksummedFile(pending.file)));
        // Users, roles and alarms came with the snapshot (they live in the 'm' keyspace).
        await this.auth.load(this.engine);
        await this.alarms.load(this.engine);
      });
    } finally {
      await this.remove(pending.file);
    }
    this.hub.resyncAll();
    this.logger.info(
      { index: snapshot.index, term: snapshot.term, records, bytes: pending.file.bytes, revision: this.store.currentRevision },
      'installed snapshot from the leader',
    );
  }

  private async remove(file: ChecksummedFile): Promise<void> {
    await rm(file.path, { force: true }).catch((err: unknown) =>
      this.logger.warn({ err, path: file.path }, 'could not delete a snapshot file'),
    );
  }
}
