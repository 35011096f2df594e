import type { ServerDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Limits } from '../config.js';
import { CairnError } from '../errors.js';
import { isForwarded } from './lease-forwarder.js';

/** The messages of one API's keep-alive stream (cairn.v1's or etcd's), and how it ends on a failure. */
export interface KeepAliveCodec<Req, Res> {
  idOf(req: Req): number;
  /** The answer to one request; built when it is written, so its header is current. */
  response(id: number, ttl: number): Res;
  toError(err: unknown): Partial<ServiceError>;
}

/**
 * One keep-alive stream: each request is answered with the lease's new TTL (0 when it does
 * not exist or expired; the stream stays open). Reading requests is paused while
 * maxLeaseKeepAlivesPerStream of them wait for answers (forwarded to the leader), and while
 * the answers already written wait for the client to read them; so a client sending faster
 * than it is answered, or not reading, is slowed down by HTTP/2 flow control instead of
 * filling this member's memory.
 */
export function keepAliveStream<Req, Res>(
  call: ServerDuplexStream<Req, Res>,
  /** LeaseOperations.renew: at once on the leader, a promise when forwarded to it. */
  renew: (id: number, forwarded: boolean) => number | Promise<number>,
  limits: Limits,
  logger: Logger,
  codec: KeepAliveCodec<Req, Res>,
): void {
  const forwarded = isForwarded(call);
  let inFlight = 0;
  let paused = false;
  /** Answers wait in the transport for the client to read them. */
  let blocked = false;
  let ended = false;
  let failed = false;

  const pauseOrResume = (): void => {
    const shouldPause = blocked || inFlight >= limits.maxLeaseKeepAlivesPerStream;
    if (shouldPause === paused) return;
    paused = shouldPause;
    if (paused) call.pause();
    else call.resume();
  };

  const fail = (err: unknown): void => {
    if (failed) return;
    failed = true;
    if (!(err instanceof CairnError)) logger.error({ err }, 'keep-alive failed');
    call.emit('error', codec.toError(err));
  };
  const settled = (): void => {
    inFlight--;
    pauseOrResume();
    if (ended && inFlight === 0 && !failed) call.end();
  };
  const answer = (id: number, ttl: number): void => {
    if (failed || call.cancelled) return;
    if (!call.write(codec.response(id, ttl)) && !blocked) {
      blocked = true;
      call.once('drain', () => {
        blocked = false;
        pauseOrResume();
      });
    }
  };

  call.on('data', (req: Req) => {
    if (failed) return;
    inFlight++;
    pauseOrResume();
    const id = codec.idOf(req);
    try {
      const ttl = renew(id, forwarded);
      if (typeof ttl === 'number') {
        answer(id, ttl);
        settled();
        return;
      }
      ttl.then(
        (renewed) => {
          answer(id, renewed);
          settled();
        },
        (err: unknown) => {
          fail(err);
          settled();
        },
      );
    } catch (err) {
      fail(err);
      settled();
    }
  });
  call.on('end', () => {
    ended = true;
    if (inFlight === 0 && !failed) call.end();
  });
  call.on('error', () => undefined);
}
