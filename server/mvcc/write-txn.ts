import type { RangeRequest } from '../../gen/ts/cairn/v1/kv.js';
import { Event_EventType, KeyValue, type Event } from '../../gen/ts/cairn/v1/types.js';
import { compactedError, futureRevisionError } from '../errors.js';
import { invariant } from '../invariant.js';
import type { BatchOp } from '../storage/engine.js';
import type { RevisionEvents } from './events.js';
import type { KeyAtRevision, KeyIndex } from './key-index.js';
import { keyBytes, toKeyRange } from './key-range.js';
import type { LeaseTable } from './lease-table.js';
import { readRange, type RangeReadResult } from './range-reader.js';
import type { Revision } from './revision.js';
import { revisionKey } from './schema.js';
import { encodeStoredVersion } from './stored-version.js';

/** What a write transaction needs from the store and the batch it belongs to. */
export interface WriteContext {
  readonly index: KeyIndex;
  readonly compactedRevision: number;
  /** Which key is attached to which lease; puts and deletes keep it up to date. */
  readonly leases: LeaseTable;
  /** Whether live events must carry prev_kv (some watcher asked for it). */
  readonly wantPrevKv: boolean;
  load(revisions: Revision[]): Promise<(KeyValue | undefined)[]>;
  stage(key: Buffer, kv: KeyValue, op: BatchOp): void;
}

/**
 * The changes of one write request, all at one main revision: sub-revisions order the
 * changes inside it. Reads inside the transaction see its own earlier writes, as in etcd.
 */
export class WriteTxn {
  private sub = 0;
  private readonly events: Event[] = [];

  constructor(
    private readonly ctx: WriteContext,
    /** The store revision before this transaction. */
    readonly baseRevision: number,
  ) {}

  get main(): number {
    return this.baseRevision + 1;
  }

  /** The revision reads inside the transaction observe. */
  get readRevision(): number {
    return this.sub > 0 ? this.main : this.baseRevision;
  }

  get compactedRevision(): number {
    return this.ctx.compactedRevision;
  }

  get leases(): LeaseTable {
    return this.ctx.leases;
  }

  get changed(): boolean {
    return this.sub > 0;
  }

  async range(req: RangeRequest): Promise<RangeReadResult> {
    const atRev = req.revision > 0 ? req.revision : this.readRevision;
    if (atRev > this.readRevision) throw futureRevisionError(atRev, this.readRevision);
    if (atRev < this.ctx.compactedRevision) throw compactedError(atRev, this.ctx.compactedRevision);
    return readRange(this.ctx.index, atRev, req, (revs) => this.ctx.load(revs));
  }

  /** The live version of key, as this transaction sees it. */
  async get(key: Buffer): Promise<KeyValue | undefined> {
    const at = this.ctx.index.get(key.toString('latin1'), this.readRevision);
    return at === undefined ? undefined : this.version(at);
  }

  private async version(at: KeyAtRevision): Promise<KeyValue> {
    const [kv] = await this.ctx.load([at.modified]);
    invariant(kv !== undefined, () => `live version of key at ${at.modified.main} not stored`);
    return kv;
  }

  /**
   * Writes key and returns its previous version when asked (wantPrev); the previous version
   * is also loaded, for the event only, when watchers need it.
   */
  async put(key: Buffer, value: Buffer, lease: number, wantPrev: boolean): Promise<KeyValue | undefined> {
    const name = key.toString('latin1');
    // The index learns the put before the previous version is loaded: the load goes by
    // that version's revision, which a read inside this transaction would no longer see.
    const readRevision = this.readRevision;
    const rev = this.nextRevision();
    const at = this.ctx.index.putAfterRead(name, rev, readRevision);
    const prev = at !== undefined && (wantPrev || this.ctx.wantPrevKv) ? await this.version(at) : undefined;
    const kv: KeyValue = {
      key,
      createRevision: at === undefined ? rev.main : at.created.main,
      modRevision: rev.main,
      version: at === undefined ? 1 : at.version + 1,
      value,
      lease,
    };
    this.ctx.leases.attach(name, lease);
    const storedKey = revisionKey(rev, false);
    this.ctx.stage(storedKey, kv, { type: 'put', key: storedKey, value: encodeStoredVersion(kv) });
    this.events.push(event(Event_EventType.EVENT_TYPE_PUT, kv, prev));
    return wantPrev ? prev : undefined;
  }

  /** Deletes every live key in the range; returns the deleted versions when asked. */
  async deleteRange(key: Buffer, rangeEnd: Buffer, wantPrev: boolean): Promise<{ deleted: number; prevKvs: KeyValue[] }> {
    const { start, end } = toKeyRange(key, rangeEnd);
    const victims: { name: string; modified: Revision }[] = [];
    this.ctx.index.range(start, end, this.readRevision, (name, at) => victims.push({ name, modified: at.modified }));
    if (victims.length === 0) return { deleted: 0, prevKvs: [] };
    const loadPrev = wantPrev || this.ctx.wantPrevKv;
    const prevKvs = loadPrev ? await this.ctx.load(victims.map((v) => v.modified)) : [];
    for (const [i, victim] of victims.entries()) {
      const rev = this.nextRevision();
      const tombstone = KeyValue.fromPartial({ key: keyBytes(victim.name), modRevision: rev.main });
      this.ctx.index.tombstone(victim.name, rev);
      this.ctx.leases.detach(victim.name);
      const storedKey = revisionKey(rev, true);
      this.ctx.stage(storedKey, tombstone, { type: 'put', key: storedKey, value: encodeStoredVersion(tombstone) });
      this.events.push(event(Event_EventType.EVENT_TYPE_DELETE, tombstone, prevKvs[i]));
    }
    return { deleted: victims.length, prevKvs: wantPrev ? prevKvs.map((kv) => kv!) : [] };
  }

  /** The events of this transaction, or undefined if it changed nothing. */
  finish(): RevisionEvents | undefined {
    if (this.sub === 0) return undefined;
    return { revision: this.main, events: this.events, prevKvLoaded: this.ctx.wantPrevKv };
  }

  private nextRevision(): Revision {
    return { main: this.main, sub: this.sub++ };
  }
}

function event(type: Event_EventType, kv: KeyValue, prevKv: KeyValue | undefined): Event {
  return { type, kv, prevKv };
}
