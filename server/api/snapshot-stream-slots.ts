import type { ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CairnError, ErrorCode } from '../errors.js';
import { invariant } from '../raft/errors.js';

/**
 * The one bound on the backup streams a member serves at once (--max-snapshot-streams),
 * whichever API asks: cairn.v1's and etcd's Maintenance.Snapshot both read a whole engine
 * snapshot, so they take their place from this one counter. A stream that finds every place
 * taken is refused at once (not queued) with ERROR_CODE_TOO_MANY_SNAPSHOTS, which each API
 * sends in its own words.
 */
export class SnapshotStreamSlots {
  #open = 0;

  constructor(readonly max: number) {
    invariant(Number.isSafeInteger(max) && max >= 1, `--max-snapshot-streams must be a positive integer, not ${max}`);
  }

  /** Streams being served now, by either API. */
  get open(): number {
    return this.#open;
  }

  /**
   * Serves `call` with `stream` in a place of its own, or refuses it. The call ends when the
   * stream does: normally, or with `toStatus` of what it threw (nothing is sent to a call
   * the client cancelled).
   */
  serve<Req, Res>(
    call: ServerWritableStream<Req, Res>,
    stream: () => Promise<void>,
    toStatus: (err: unknown) => Partial<ServiceError>,
    logger: Logger,
  ): void {
    if (this.#open >= this.max) {
      const refused = new CairnError(
        ErrorCode.ERROR_CODE_TOO_MANY_SNAPSHOTS,
        `this member already streams ${this.#open} snapshots (--max-snapshot-streams ${this.max}); try again later or ask another member`,
      );
      call.emit('error', toStatus(refused));
      return;
    }
    this.#open++;
    const release = (): void => {
      this.#open--;
    };
    stream().then(
      () => {
        release();
        if (!call.cancelled) call.end();
      },
      (err: unknown) => {
        release();
        if (call.cancelled) return;
        if (!(err instanceof CairnError)) logger.error({ err }, 'snapshot stream failed');
        call.emit('error', toStatus(err));
      },
    );
  }
}
