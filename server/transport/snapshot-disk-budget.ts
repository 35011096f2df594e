/**
 * The disk-space check for incoming snapshots, which replaces a fixed size cap: a snapshot
 * may be as large as the data dir can hold. A transfer is refused (RESOURCE_EXHAUSTED, with
 * the figures) when the filesystem lacks room for what the transfers in progress still need
 * plus a reserve kept free for the member's own writes. Checked when a transfer starts, every
 * CHECK_EVERY_BYTES it receives, and at its end marker: a sender that did not announce the
 * size is stopped as soon as the data outgrows the space.
 *
 * What a transfer needs is an estimate: the rest of its file (when the size was announced)
 * and STORE_COPIES times the snapshot in the storage engine, because the import stages the
 * records and then copies them into place before the staged copy is dropped
 * (mvcc/snapshot.ts).
 */
import { availableDiskBytes } from '../streams/disk-space.js';
import { TransportError, TransportErrorCode } from './errors.js';
import type { IncomingSnapshot } from './incoming-snapshot.js';

export const DEFAULT_SNAPSHOT_DISK_RESERVE_BYTES = 64 * 1024 * 1024;
const STORE_COPIES = 2;
const CHECK_EVERY_BYTES = 64 * 1024 * 1024;

export class SnapshotDiskBudget {
  private readonly active = new Map<IncomingSnapshot, number>();

  constructor(
    private readonly dir: string,
    private readonly reserveBytes: number,
  ) {}

  /** Counts a transfer in, and checks there is room for it. */
  async admit(transfer: IncomingSnapshot, what: string): Promise<void> {
    this.active.set(transfer, 0);
    await this.check(what);
  }

  /** After each chunk: checks again once CHECK_EVERY_BYTES more arrived. */
  async received(transfer: IncomingSnapshot, what: string): Promise<void> {
    const checkedAt = this.active.get(transfer);
    if (checkedAt === undefined || transfer.receivedBytes - checkedAt < CHECK_EVERY_BYTES) return;
    this.active.set(transfer, transfer.receivedBytes);
    await this.check(what);
  }

  release(transfer: IncomingSnapshot): void {
    this.active.delete(transfer);
  }

  async check(what: string): Promise<void> {
    let need = 0;
    for (const t of this.active.keys()) need += needOf(t);
    const free = await availableDiskBytes(this.dir);
    if (free < need + this.reserveBytes) {
      throw new TransportError(
        TransportErrorCode.SnapshotNoSpace,
        `${what}: not enough disk space in ${this.dir}: ${mib(free)} free, the incoming snapshot(s) need about ` +
          `${mib(need)} more and ${mib(this.reserveBytes)} is kept free (--snapshot-disk-reserve-bytes)`,
      );
    }
  }
}

function needOf(t: IncomingSnapshot): number {
  return t.totalBytes > 0 ? t.totalBytes - t.receivedBytes + STORE_COPIES * t.totalBytes : STORE_COPIES * t.receivedBytes;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
