import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import { addsData } from './adds-data.js';
import type { AlarmStore } from './alarm-store.js';
import type { CommandOutcome } from './outcome.js';
import type { WritePath } from './write-path.js';

/**
 * The client-facing write path while the store may be over its space quota: a write that
 * adds data is refused before it is proposed when a NOSPACE alarm is active, so that a
 * client retrying refused puts does not keep growing the Raft log (etcd's quota KV
 * server). The applier checks again at the alarm's point of the log, which is what makes
 * the refusal the same on every member; this check only saves the round through Raft.
 */
export class SpaceQuotaGate implements WritePath {
  constructor(
    private readonly inner: WritePath,
    private readonly alarms: AlarmStore,
  ) {}

  submit(command: Command): Promise<CommandOutcome> {
    if (addsData(command)) {
      const refusal = this.alarms.spaceRefusal();
      if (refusal !== undefined) return Promise.resolve({ ok: false, error: refusal });
    }
    return this.inner.submit(command);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
