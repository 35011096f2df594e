import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CairnError } from '../../errors.js';
import { EtcdStatusError, toEtcdServiceError } from './rpctypes.js';

/**
 * unary.ts for etcd's services: the same adapter, but errors end the call with etcd's
 * status and message, which etcd's clients match on.
 */
export function etcdUnary<Req, Res>(logger: Logger, method: string, handler: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve(call.request)
      .then((req) => handler(req, call))
      .then(
        (response) => callback(null, response),
        (err: unknown) => {
          if (!(err instanceof CairnError) && !(err instanceof EtcdStatusError)) logger.error({ err, method }, 'etcd request failed');
          callback(toEtcdServiceError(err), null);
        },
      );
  };
}
