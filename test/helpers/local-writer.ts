import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type { Applier } from '../../server/apply/applier.js';
import type { CommandOutcome } from '../../server/apply/outcome.js';
import type { WritePath } from '../../server/apply/write-path.js';
import { CairnError, ErrorCode } from '../../server/errors.js';
import type { MvccStore } from '../../server/mvcc/kv-store.js';

interface Pending {
  command: Command;
  resolve: (outcome: CommandOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * A write path without Raft, for tests of the store and the applier: the same group-commit
 * batching a member's Raft loop does, with no log in front. The write path of a single node: commands are applied in arrival order by one writer,
 * and every command that arrived while the previous batch was being synced goes into the
 * next batch, which costs one fsync for all of them (group commit). A client is answered
 * only after its batch is on disk.
 */
export class LocalWriter implements WritePath {
  private readonly queue: Pending[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: MvccStore,
    private readonly applier: Applier,
    /** Called when storage fails: the node must stop rather than run on a disk it can't trust. */
    private readonly onFatal: (err: unknown) => void,
    private readonly maxBatch = 1000,
  ) {}

  submit(command: Command): Promise<CommandOutcome> {
    if (this.closed) return Promise.reject(new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the node is shutting down'));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // Let the event loop read every request that has already arrived before cutting the
        // batch. Without this yield each batch would start (and, with an engine that writes
        // synchronously, finish) within the job of its first request, holding one command.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const taken = this.queue.splice(0, this.maxBatch);
        try {
          const batch = this.store.beginBatch();
          const outcomes: CommandOutcome[] = [];
          for (const pending of taken) outcomes.push(await this.applier.apply(batch, pending.command));
          await this.store.commit(batch, this.store.consistentIndex + taken.length, { sync: true });
          taken.forEach((pending, i) => pending.resolve(outcomes[i]!));
        } catch (err) {
          for (const pending of [...taken, ...this.queue.splice(0)]) pending.reject(err);
          this.closed = true;
          this.onFatal(err);
          return;
        }
      }
    } finally {
      // Cleared in the same job that finds the queue empty. It used to be cleared in a
      // `.finally()` callback on the drain promise, a microtask too late: a client resuming
      // from its resolved outcome could submit in between, see `draining` still set, and its
      // command sat in the queue forever (`await submit(a); await submit(b)` hung on b).
      this.draining = undefined;
    }
  }
}
