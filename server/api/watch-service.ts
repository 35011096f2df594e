import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { WatchRequest, WatchResponse, WatchServiceServer } from '../../gen/ts/cairn/v1/watch.js';
import type { Limits } from '../config.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { MvccStore } from '../mvcc/kv-store.js';
import type { WatchHub } from '../mvcc/watch-hub.js';
import type { WatchAccess } from './auth/watch-access.js';
import { toServiceError } from './errors.js';
import type { RequestValidator } from './validate.js';
import { WatchStream } from './watch-stream.js';

export interface WatchServiceDeps {
  store: MvccStore;
  hub: WatchHub;
  limits: Limits;
  validator: RequestValidator;
  header: (revision: number) => ResponseHeader;
  logger: Logger;
  progressIntervalMs: number;
  /** The access checks of the stream's caller (server/api/auth/). */
  access: (call: ServerDuplexStream<WatchRequest, WatchResponse>) => WatchAccess;
}

/** The Watch service: each call becomes a WatchStream, up to the stream limit. */
export function watchService(deps: WatchServiceDeps): { service: WatchServiceServer; closeAll: () => void } {
  let open = 0;
  const calls = new Set<ServerDuplexStream<WatchRequest, WatchResponse>>();
  /** Ends every stream with STOPPING (UNAVAILABLE) so that clients resume on another member. */
  const closeAll = (): void => {
    const stopping = new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the node is shutting down');
    for (const call of calls) call.emit('error', toServiceError(stopping));
    calls.clear();
  };
  /** Refuses a stream over the limit; another member may accept it. */
  const admit = (): void => {
    if (open >= deps.limits.maxWatchStreams) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_TOO_MANY_WATCH_STREAMS,
        `the node already serves ${open} watch streams; the limit is ${deps.limits.maxWatchStreams} (--max-watch-streams)`,
      );
    }
  };
  const service: WatchServiceServer = {
    watch(call: ServerDuplexStream<WatchRequest, WatchResponse>): void {
      try {
        admit();
      } catch (err) {
        // Ends the stream with the error's status, through the one table (server/api/errors.ts).
        call.emit('error', toServiceError(err));
        return;
      }
      open++;
      let counted = true;
      calls.add(call);
      const release = (): void => {
        if (counted) open--;
        counted = false;
        calls.delete(call);
      };
      call.on('end', release);
      call.on('error', release);
      call.on('cancelled', release);
      call.on('close', release);
      new WatchStream(
        call,
        deps.hub,
        deps.limits,
        deps.validator,
        deps.header,
        () => deps.store.currentRevision,
        deps.logger,
        deps.progressIntervalMs,
        deps.access(call),
      );
    },
  };
  return { service, closeAll };
}
