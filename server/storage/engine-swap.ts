import { access, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * The directories of an engine rebuilt by copy (engine-rebuild.ts), beside its own in the
 * data dir (one filesystem, so that renames are atomic):
 * - `<engine>.defrag-copy`: the copy being written; incomplete until renamed.
 * - `<engine>.defrag-ready`: the complete copy, every file synced.
 * - `<engine>.defrag-old`: the engine's previous files, moved aside to make room.
 */
export function swapDirectories(location: string): { copy: string; ready: string; old: string } {
  return { copy: `${location}.defrag-copy`, ready: `${location}.defrag-ready`, old: `${location}.defrag-old` };
}

/** The points of a swap, in order; a crash between any two leaves one complete database (recoverEngineSwap). */
export type SwapStep = 'copy-ready' | 'old-moved-aside' | 'copy-in-place' | 'old-removed';

/**
 * Puts the ready copy in the engine's place, the old database being closed: moves the old
 * files aside, renames the copy into place, then removes the old files. Each rename is made
 * durable (the data dir synced) before the next step, so that after a crash at any point
 * recoverEngineSwap finds either the old database in place and a copy it drops, or the copy
 * ready and the old moved aside, which it completes.
 */
export async function swapInCopy(location: string, onStep: (step: SwapStep) => Promise<void>): Promise<void> {
  const dirs = swapDirectories(location);
  await rename(location, dirs.old);
  await syncDirectory(path.dirname(location));
  await onStep('old-moved-aside');
  await rename(dirs.ready, location);
  await syncDirectory(path.dirname(location));
  await onStep('copy-in-place');
  await rm(dirs.old, { recursive: true, force: true });
  await onStep('old-removed');
}

/** Marks a synced copy complete: from here a crash completes the swap or drops the copy, never half of it. */
export async function markCopyReady(location: string): Promise<void> {
  const dirs = swapDirectories(location);
  await rename(dirs.copy, dirs.ready);
  await syncDirectory(path.dirname(location));
}

/**
 * Before the engine opens: finishes or undoes a swap a crash interrupted, so that exactly
 * one complete database is at `location` and nothing of the other is left.
 * - A copy still being written is incomplete: removed.
 * - A ready copy with the engine's database in place: the swap had not begun (writes were
 *   held back since the copy started, so both hold the same data); the copy is removed.
 * - A ready copy with the old files moved aside and nothing in place: the swap is completed.
 * - Old files moved aside with a database in place: the swap had finished; they are removed.
 * Returns what it did, for the log.
 */
export async function recoverEngineSwap(location: string): Promise<string[]> {
  const dirs = swapDirectories(location);
  const done: string[] = [];
  if (await exists(dirs.copy)) {
    await rm(dirs.copy, { recursive: true, force: true });
    done.push(`removed the incomplete defragment copy ${dirs.copy}`);
  }
  if (await exists(dirs.ready)) {
    if (await exists(location)) {
      await rm(dirs.ready, { recursive: true, force: true });
      done.push(`removed the defragment copy ${dirs.ready}: the swap had not begun and ${location} is complete`);
    } else {
      await rename(dirs.ready, location);
      await syncDirectory(path.dirname(location));
      done.push(`completed the defragment swap: ${dirs.ready} is now ${location}`);
    }
  }
  if (await exists(dirs.old)) {
    if (await exists(location)) {
      await rm(dirs.old, { recursive: true, force: true });
      done.push(`removed the files the defragment replaced (${dirs.old})`);
    } else {
      // Not a state the swap leaves (the old files move aside only once the copy is ready),
      // but if a hand removed the copy: the old files are complete, so they go back.
      await rename(dirs.old, location);
      await syncDirectory(path.dirname(location));
      done.push(`put ${dirs.old} back in place: no defragment copy was there to take its place`);
    }
  }
  return done;
}

/** Makes the renames and creations in a directory durable. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
