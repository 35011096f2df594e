import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { MvccStore } from './mvcc/kv-store.js';
import type { WatchHub } from './mvcc/watch-hub.js';
import type { DriverStatus } from './node/raft-driver.js';
import { StateRole } from './raft/types.js';
import type { RaftMember } from './raft-member.js';
import type { CairnMetrics } from './observability/metrics.js';
import { startMetricsServer, type MetricsServer, type Readiness } from './observability/metrics-server.js';

/**
 * Part of the composition root: points the member's metrics at the parts they describe and
 * serves them, with the health probes, on --metrics-listen. Kept out of main.ts so that the
 * wiring of telemetry stays in one place.
 */
export interface MemberTelemetryParts {
  metrics: CairnMetrics;
  member: RaftMember;
  store: MvccStore;
  hub: WatchHub;
  openWatchStreams: () => number;
  /** The in-memory Raft log (RaftLogStore.memory) and its bound. */
  raftLog: { heldBytes(): number; peakHeldBytes(): number };
  maxRaftLogMemoryBytes: number;
  dataDir: string;
  metricsListen: string;
  readyMaxApplyLag: number;
  logger: Logger;
}

/** Starts the HTTP side port when --metrics-listen names one; undefined otherwise. */
export async function startMemberTelemetry(p: MemberTelemetryParts): Promise<MetricsServer | undefined> {
  const { metrics, member, store, hub } = p;
  metrics.observe({
    raft: () => {
      const s = member.driver.status();
      return { term: s.term, leader: s.leader, isLeader: s.role === StateRole.Leader, commit: s.commit, applied: s.applied };
    },
    pendingProposals: () => member.node.pendingProposals,
    raftLogMemory: () => ({ bytes: p.raftLog.heldBytes(), peakBytes: p.raftLog.peakHeldBytes(), limitBytes: p.maxRaftLogMemoryBytes }),
    keys: () => store.index.size,
    revision: () => store.currentRevision,
    compactedRevision: () => store.compactedRevision,
    databaseSizeBytes: () => directoryBytes(p.dataDir),
    watchers: () => hub.watcherCounts(),
    watchStreams: p.openWatchStreams,
    peers: () => member.peerStats(),
  });
  if (p.metricsListen === '') return undefined;
  const server = await startMetricsServer(p.metricsListen, metrics, () =>
    memberReadiness(member.driver.status(), member.driver.isStopped, p.readyMaxApplyLag),
  );
  p.logger.info({ address: server.address }, 'serving /metrics, /healthz and /readyz');
  return server;
}

/**
 * Ready means: this member can take a request now and answer it from current state: it
 * knows a leader (a member cut off from the majority loses it within an election timeout:
 * a follower campaigns, a leader steps down by check-quorum) and has applied what is
 * committed, within the bound.
 */
export function memberReadiness(s: DriverStatus, stopped: boolean, maxApplyLag: number): Readiness {
  if (stopped) return { ready: false, reason: 'raft stopped after a fatal error' };
  if (s.leader === 0) return { ready: false, reason: `no leader known (role ${s.role}, term ${s.term})` };
  const lag = s.commit - s.applied;
  if (lag > maxApplyLag)
    return { ready: false, reason: `${lag} committed entries not applied yet (bound ${maxApplyLag}, --ready-max-apply-lag)` };
  return { ready: true, reason: `leader ${s.leader}, term ${s.term}, applied ${s.applied} of ${s.commit}` };
}

/** Bytes of the files under dir (the database; RocksDB and LevelDB keep several files). */
async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    try {
      if (entry.isDirectory()) total += await directoryBytes(full);
      else if (entry.isFile()) total += (await stat(full)).size;
    } catch {
      // Compaction deletes files while we walk: a vanished file takes no space.
    }
  }
  return total;
}
