import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ENGINE_NAMES } from '../config.js';
import { removeDurablePromise } from './durable-promise.js';
import { swapDirectories } from './engine-swap.js';

/** Present while a member that discarded its data has not yet caught up (see node/rejoin-vote-guard.ts). */
export const REJOINING_MARKER = 'rejoining';

/**
 * Removes the member's database and its durable-promise record (identity.json stays: the
 * member keeps its id and cluster). The marker is written first, so a crash in the middle
 * leaves a member that still knows it is rejoining and must not vote yet.
 */
export async function discardLocalData(dataDir: string): Promise<void> {
  await writeFile(path.join(dataDir, REJOINING_MARKER), 'discarded local data; rejoining\n');
  for (const engine of ENGINE_NAMES) {
    // A defragment's directories too: one a crash left would otherwise be swapped back in.
    const location = path.join(dataDir, engine);
    for (const dir of [location, ...Object.values(swapDirectories(location))]) await rm(dir, { recursive: true, force: true });
  }
  await removeDurablePromise(dataDir);
}

export async function clearRejoiningMarker(dataDir: string): Promise<void> {
  await rm(path.join(dataDir, REJOINING_MARKER), { force: true });
}
