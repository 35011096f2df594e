import type { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { invariant } from '../invariant.js';
import type { BatchOp } from '../storage/engine.js';
import type { RevisionEvents } from './events.js';
import type { KeyIndex } from './key-index.js';
import { encodeLease, type Lease, type LeaseTable } from './lease-table.js';
import type { Revision } from './revision.js';
import { encodeCounter, leaseKey, META_KEYS, revisionKey } from './schema.js';
import { WriteTxn, type WriteContext } from './write-txn.js';

/**
 * What a batch reads and updates on the store it belongs to; MvccStore (kv-store.ts) is the
 * one implementation. Declared here so that this file need not import the store that creates
 * its batches.
 */
export interface BatchStore {
  readonly currentRevision: number;
  readonly compactedRevision: number;
  readonly index: KeyIndex;
  readonly leases: LeaseTable;
  /** Watchers that want prev_kv on live events. */
  readonly prevKvWatchers: number;
  /** Marks history below revision as gone. */
  markCompacted(revision: number): void;
  /** Stored versions by revision (puts only). */
  loadVersions(revisions: Revision[]): Promise<(KeyValue | undefined)[]>;
}

/**
 * Several write requests applied back to back and made durable in one engine write (group
 * commit). Later requests in the batch see the earlier ones: their versions are served from
 * the batch until it is written.
 */
export class WriteBatch implements WriteContext {
  readonly ops: BatchOp[] = [];
  readonly revisions: RevisionEvents[] = [];
  /** The revision after the requests applied so far. */
  revision: number;
  compaction: { revision: number; kept: Set<string> } | undefined;
  private readonly staged = new Map<string, KeyValue>();
  private txn: WriteTxn | undefined;

  constructor(private readonly store: BatchStore) {
    this.revision = store.currentRevision;
  }

  get index(): KeyIndex {
    return this.store.index;
  }

  get compactedRevision(): number {
    return this.store.compactedRevision;
  }

  get leases(): LeaseTable {
    return this.store.leases;
  }

  /** Adds a lease, stored with this batch. */
  grantLease(id: number, ttl: number): void {
    this.storeLease(this.store.leases.add({ id, ttl, remainingMs: 0 }));
  }

  /** Stores a lease's changed record (a checkpoint) with this batch. */
  storeLease(lease: Lease): void {
    this.ops.push({ type: 'put', key: leaseKey(lease.id), value: encodeLease(lease) });
  }

  /** Removes a lease whose keys are already deleted, with this batch. */
  removeLease(id: number): void {
    this.store.leases.remove(id);
    this.ops.push({ type: 'del', key: leaseKey(id) });
  }

  get wantPrevKv(): boolean {
    return this.store.prevKvWatchers > 0;
  }

  beginTxn(): WriteTxn {
    invariant(this.txn === undefined, 'a write transaction is already open');
    this.txn = new WriteTxn(this, this.revision);
    return this.txn;
  }

  /** Ends the open transaction; returns the revision after it. */
  endTxn(txn: WriteTxn): number {
    invariant(txn === this.txn, 'ending a transaction that is not open');
    this.txn = undefined;
    const events = txn.finish();
    if (events !== undefined) {
      this.revisions.push(events);
      this.revision = events.revision;
    }
    return this.revision;
  }

  /**
   * Compacts history below revision. The index forgets it at once (and reads below it fail
   * from now on); stored versions are deleted in the background after the batch is durable.
   */
  compact(revision: number): void {
    const kept = this.store.index.compact(revision);
    this.store.markCompacted(revision);
    this.compaction = { revision, kept };
    this.ops.push({ type: 'put', key: META_KEYS.compactedRevision, value: encodeCounter(revision) });
  }

  stage(key: Buffer, kv: KeyValue, op: BatchOp): void {
    this.staged.set(key.toString('latin1'), kv);
    this.ops.push(op);
  }

  async load(revisions: Revision[]): Promise<(KeyValue | undefined)[]> {
    const result = new Array<KeyValue | undefined>(revisions.length);
    const fromStore: { at: number; rev: Revision }[] = [];
    revisions.forEach((rev, at) => {
      const staged = this.staged.get(revisionKey(rev, false).toString('latin1'));
      if (staged !== undefined) result[at] = staged;
      else fromStore.push({ at, rev });
    });
    const loaded = await this.store.loadVersions(fromStore.map((f) => f.rev));
    fromStore.forEach((f, i) => (result[f.at] = loaded[i]));
    return result;
  }
}
