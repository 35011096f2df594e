import type { Logger } from 'pino';
import type { Command, LeaseRemaining } from '../../gen/ts/cairn/internal/v1/command.js';
import type { Lessor } from './lessor.js';
import type { WritePath } from './write-path.js';

/**
 * Drives the lessor on the leader: every tick, proposes the expiries it found (so keys of
 * expired leases are deleted through the log, on every member alike) and, when due, the
 * checkpoint of remaining TTLs. At most one expiry round and one checkpoint round are in
 * flight at a time, so a slow log cannot pile proposals up; an expiry that did not apply
 * is proposed again by the lessor after its retry time.
 */
export class LessorLoop {
  private timer: NodeJS.Timeout | undefined;
  private expiring = false;
  private checkpointing: Promise<void> | undefined;

  constructor(
    private readonly lessor: Lessor,
    private readonly writes: WritePath,
    private readonly tickMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Checkpoints every lease now (before handing leadership over); best effort. */
  async checkpointNow(): Promise<void> {
    await this.checkpointing;
    await this.proposeAll(this.lessor.takeCheckpoints(true).map((remaining) => checkpoint(remaining)));
  }

  private tick(): void {
    if (!this.expiring) {
      const expired = this.lessor.takeExpired();
      if (expired.length > 0) {
        this.expiring = true;
        this.logger.debug({ leases: expired.reduce((n, ids) => n + ids.length, 0) }, 'expiring leases');
        void this.proposeAll(expired.map((ids) => ({ request: { $case: 'leaseExpire', leaseExpire: { ids } } }))).finally(
          () => (this.expiring = false),
        );
      }
    }
    if (this.checkpointing === undefined) {
      const batches = this.lessor.takeCheckpoints();
      if (batches.length > 0) {
        this.checkpointing = this.proposeAll(batches.map((remaining) => checkpoint(remaining))).finally(
          () => (this.checkpointing = undefined),
        );
      }
    }
  }

  private async proposeAll(commands: Command[]): Promise<void> {
    const outcomes = await Promise.allSettled(commands.map((command) => this.writes.submit(command)));
    for (const outcome of outcomes) {
      // Not fatal: leadership may have moved on; the next leader redoes what is still due.
      if (outcome.status === 'rejected') this.logger.debug({ err: outcome.reason as unknown }, 'lease proposal failed');
    }
  }
}

function checkpoint(remaining: LeaseRemaining[]): Command {
  return { request: { $case: 'leaseCheckpoint', leaseCheckpoint: { remaining } } };
}
