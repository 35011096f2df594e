import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { WatchRequest, WatchResponse, WatchServiceServer } from '../../gen/ts/cairn/v1/watch.js';
import type { Limits } from '../config.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { MvccStore } from '../mvcc/kv-store.js';
import type { WatchHub } from '../mvcc/watch-hub.js';
import type { WatchAccess } from './auth/watch-access.js';
import type { RequestValidator } from './validate.js';
import { CAIRN_WATCH_PROTOCOL, type WatchProtocol } from './watch-encoding.js';
import { WatchStream, type WatchObserver } from './watch-stream.js';

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
  /** Told of events written to streams (metrics). */
  observer?: WatchObserver;
}

/** A watch call of either API; the stream reads cairn.v1 requests (etcd's are translated as they are decoded). */
type WatchCall = ServerDuplexStream<WatchRequest, WatchResponse>;

/**
 * The Watch service: each call becomes a WatchStream, up to the stream limit. `serve` runs
 * a call of another API (etcd's) on the same machinery, within the same limit.
 */
export function watchService(deps: WatchServiceDeps): {
  service: WatchServiceServer;
  serve: (call: WatchCall, protocol: WatchProtocol) => void;
  closeAll: () => void;
  openStreams: () => number;
} {
  let open = 0;
  const calls = new Map<WatchCall, WatchProtocol>();
  /** Ends every stream with STOPPING (UNAVAILABLE) so that clients resume on another member. */
  const closeAll = (): void => {
    const stopping = new CairnError(ErrorCode.ERROR_CODE_STOPPING, 'the node is shutting down');
    for (const [call, protocol] of calls) call.emit('error', protocol.toError(stopping));
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
  const serve = (call: WatchCall, protocol: WatchProtocol): void => {
    try {
      admit();
    } catch (err) {
      // Ends the stream with the error's status, through the API's table.
      call.emit('error', protocol.toError(err));
      return;
    }
    open++;
    let counted = true;
    calls.set(call, protocol);
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
      protocol,
      deps.observer,
    );
  };
  const service: WatchServiceServer = { watch: (call) => serve(call, CAIRN_WATCH_PROTOCOL) };
  return { service, serve, closeAll, openStreams: () => open };
}
