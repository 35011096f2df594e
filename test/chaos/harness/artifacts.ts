/** Saves what a failing run needs to be understood: history, member logs, data dirs, summary. */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Op } from '../checker/history.js';
import type { WatcherLog } from '../checker/watch-check.js';
import type { ChaosCluster } from './cluster.js';

export async function saveArtifacts(
  root: string,
  cluster: ChaosCluster,
  history: readonly Op[],
  watchers: readonly WatcherLog[],
  summary: unknown,
): Promise<string> {
  const dir = join(root, new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
  await writeFile(join(dir, 'history.json'), JSON.stringify(history));
  await writeFile(join(dir, 'watchers.json'), JSON.stringify(watchers));
  for (const m of [...cluster.members, ...cluster.departed]) {
    await cp(m.logPath, join(dir, `${m.name}.log`)).catch(() => undefined);
    await cp(m.dataDir, join(dir, 'data', m.name), { recursive: true }).catch(() => undefined);
  }
  return dir;
}
