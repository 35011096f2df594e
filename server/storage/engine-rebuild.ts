import { mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { availableDiskBytes } from '../streams/disk-space.js';
import type { AbstractLevelLike } from './abstract-level-like.js';
import { markCopyReady, swapDirectories, syncDirectory, type SwapStep } from './engine-swap.js';

/**
 * Defragmenting by copy, etcd's way (bbolt's defrag writes the live pages into a new file
 * and swaps it in): for RocksDB, whose binding (@nxtedition/rocksdb 12.2) exposes no
 * CompactRange nor any option that would compact its files on demand (see
 * docs/operations.md). Every live entry is copied into a fresh database beside the engine's
 * directory, which holds only them, compactly; engine-swap.ts then puts it in place.
 */

/** The points a rebuild goes through, for its log and for the crash tests that stop it at each. */
export type RebuildStep = 'copying' | SwapStep;

/** A batch of the copy: bounded in bytes and entries, so that the copy's memory is too. */
const COPY_BATCH_BYTES = 4 * 1024 * 1024;
const COPY_BATCH_ENTRIES = 10_000;
/** What the copy's iterator may read ahead (abstract-level-engine.ts has the same bound for scans). */
const COPY_PREFETCH_BYTES = 1024 * 1024;
/**
 * Room asked for beyond the live data's estimate: the estimate is RocksDB's, and the copy
 * writes its first two levels uncompressed (the binding's level layout), so the copy may
 * take somewhat more than the estimate.
 */
const COPY_ROOM_FACTOR = 1.5;
const COPY_ROOM_MARGIN_BYTES = 16 * 1024 * 1024;

/** Refused before anything was written: the disk cannot hold the copy. */
export class NoRoomForCopyError extends Error {
  override readonly name = 'NoRoomForCopyError';
}

/** The bytes a copy of `liveBytes` of live data may need on the disk. */
export function roomForCopy(liveBytes: number): number {
  return Math.ceil(liveBytes * COPY_ROOM_FACTOR) + COPY_ROOM_MARGIN_BYTES;
}

/** Refuses, naming the numbers, when the filesystem of `location` has less than `needed` bytes free. */
export async function checkRoomForCopy(location: string, liveBytes: number): Promise<void> {
  const needed = roomForCopy(liveBytes);
  const available = await availableDiskBytes(path.dirname(location));
  if (available >= needed) return;
  throw new NoRoomForCopyError(
    `not enough free disk space to defragment ${location}: the copy of its live data (about ${liveBytes} bytes) ` +
      `needs ${needed} bytes free beside it and ${available} are; free some space on that filesystem and try again`,
  );
}

export interface CopyOptions {
  /** Opens a new, empty database of the engine at a directory. */
  readonly openAt: (location: string) => Promise<AbstractLevelLike>;
  /** Checked between batches: true gives up (the member is closing). */
  readonly stopping: () => boolean;
  readonly onStep: (step: RebuildStep) => Promise<void>;
}

/**
 * Copies every entry of `source` (whose writes the caller holds back) into a new database at
 * the copy directory, syncs every file of it, and marks it ready (engine-swap.ts). A copy
 * left by a failure or a stop is removed. Returns the bytes and entries copied.
 */
export async function writeReadyCopy(
  source: AbstractLevelLike,
  location: string,
  options: CopyOptions,
): Promise<{ entries: number; bytes: number }> {
  const { copy } = swapDirectories(location);
  await rm(copy, { recursive: true, force: true });
  await mkdir(copy);
  let target: AbstractLevelLike | undefined;
  try {
    target = await options.openAt(copy);
    const copied = await copyEntries(source, target, options);
    const closing = target;
    target = undefined;
    await closing.close();
    await syncTree(copy);
    await markCopyReady(location);
    await options.onStep('copy-ready');
    return copied;
  } catch (err) {
    await target?.close().catch(() => undefined);
    await rm(copy, { recursive: true, force: true });
    throw err;
  }
}

async function copyEntries(
  source: AbstractLevelLike,
  target: AbstractLevelLike,
  options: CopyOptions,
): Promise<{ entries: number; bytes: number }> {
  const iterator = source.iterator({ limit: -1, highWaterMarkBytes: COPY_PREFETCH_BYTES });
  let entries = 0;
  let bytes = 0;
  try {
    let batch = target.batch();
    let batchBytes = 0;
    let batchEntries = 0;
    for (;;) {
      const entry = await iterator.next();
      if (entry === undefined) break;
      const [key, value] = entry;
      batch.put(key, value);
      batchBytes += key.length + value.length;
      batchEntries++;
      if (batchBytes < COPY_BATCH_BYTES && batchEntries < COPY_BATCH_ENTRIES) continue;
      await batch.write({ sync: false });
      entries += batchEntries;
      bytes += batchBytes;
      if (options.stopping()) throw new Error('the member is closing: defragment stopped, the copy is dropped');
      await options.onStep('copying');
      batch = target.batch();
      batchBytes = 0;
      batchEntries = 0;
    }
    // Synced: the copy is closed and every file synced after, but a synced last batch
    // costs nothing and makes the log durable by the engine's own means too.
    await batch.write({ sync: true });
    return { entries: entries + batchEntries, bytes: bytes + batchBytes };
  } finally {
    await iterator.close();
  }
}

/** Syncs every file of a directory (the engine's tables, logs, manifest) and the directory itself. */
async function syncTree(directory: string): Promise<void> {
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const handle = await open(path.join(directory, entry.name), 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  await syncDirectory(directory);
}
