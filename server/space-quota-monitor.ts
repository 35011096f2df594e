import type { Logger } from 'pino';

/** What the space quota check needs (wired in main.ts). */
export interface SpaceQuotaOptions {
  readonly selfId: number;
  readonly quotaBytes: number;
  readonly intervalMs: number;
  /** This member's engine size in use (storage/engine-size.ts). */
  readonly measure: () => Promise<number>;
  /** Asks the engine to compact its tables in place now (its compactAll(): LevelDB; RocksDB cannot). */
  readonly compactEngine: () => Promise<unknown>;
  /** Whether a NOSPACE alarm is active for the member. */
  readonly alarmed: (memberId: number) => boolean;
  /** The members with an active NOSPACE alarm. */
  readonly alarmedMembers: () => readonly number[];
  readonly isLeader: () => boolean;
  /** The ids of the cluster's current members. */
  readonly memberIds: () => readonly number[];
  /** Raises this member's NOSPACE alarm through the log. */
  readonly raise: (detail: string) => Promise<void>;
  /** Ends a member's NOSPACE alarm through the log. */
  readonly clear: (memberId: number) => Promise<void>;
  readonly logger: Logger;
}

/**
 * The space quota (etcd's --quota-backend-bytes). Every interval each member measures its
 * own engine (only it can) and, through the log, raises a NOSPACE alarm for itself when it
 * is over the quota and ends it once it is back under: the alarm clears itself, with no
 * operator step, as soon as deleting, compacting and defragmenting freed the space. The
 * leader also ends the alarms of members that were removed from the cluster, which nobody
 * else would. A disarmed alarm of a member still over the quota is raised again. One check
 * runs at a time; a failed proposal (no leader, say) is tried again the next interval.
 */
export class SpaceQuotaMonitor {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  /** The last measurement, for Status and logs; undefined before the first. */
  lastUsage: number | undefined;

  constructor(private readonly o: SpaceQuotaOptions) {
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running !== undefined) return;
    this.running = this.check()
      .catch((err: unknown) => this.o.logger.warn({ err }, 'space quota check failed; trying again next interval'))
      .finally(() => (this.running = undefined));
  }

  private async check(): Promise<void> {
    let usage = await this.o.measure();
    if (usage > this.o.quotaBytes && !this.o.alarmed(this.o.selfId)) {
      // Before declaring the store full, let the engine give back what it already can.
      // Its tables then hold the data, so that the compaction after the operator's deletes
      // merges the deletes with it (LevelDB compacts every level but the deepest on demand).
      await this.o.compactEngine();
      usage = await this.o.measure();
    }
    this.lastUsage = usage;
    const over = usage > this.o.quotaBytes;
    if (over && !this.o.alarmed(this.o.selfId)) {
      const detail = overQuotaDetail(usage, this.o.quotaBytes);
      this.o.logger.error({ usage, quota: this.o.quotaBytes }, `space quota exceeded: raising a NOSPACE alarm (${detail})`);
      await this.o.raise(detail);
    } else if (!over && this.o.alarmed(this.o.selfId)) {
      this.o.logger.warn({ usage, quota: this.o.quotaBytes }, 'usage is back under the space quota: ending the NOSPACE alarm');
      await this.o.clear(this.o.selfId);
    }
    if (!this.o.isLeader()) return;
    const members = new Set(this.o.memberIds());
    for (const id of this.o.alarmedMembers()) {
      if (members.has(id)) continue;
      this.o.logger.warn({ memberId: id }, 'ending the NOSPACE alarm of a member that left the cluster');
      await this.o.clear(id);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/** "database size 4.1 MiB (4299161 bytes) is over the quota of 4.0 MiB (--quota-backend-bytes 4194304)". */
export function overQuotaDetail(usage: number, quota: number): string {
  return `database size ${mebibytes(usage)} (${usage} bytes) is over the quota of ${mebibytes(quota)} (--quota-backend-bytes ${quota})`;
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
