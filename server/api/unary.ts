import { status, type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toServiceError } from './errors.js';

/**
 * Adapts an async handler to grpc-js's callback style: results and domain errors go back
 * as a response or a status; anything unexpected is logged and answered as INTERNAL.
 */
export function unary<Req, Res>(
  logger: Logger,
  method: string,
  handler: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  /** How a failure reaches the client: Cairn's table, or etcd's for the etcd-compatible API. */
  toError: (err: unknown) => Partial<ServiceError> = toServiceError,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    // Run the handler inside the promise so that a synchronous throw (validation) is mapped too.
    Promise.resolve(call.request)
      .then((req) => handler(req, call))
      .then(
        (response) => callback(null, response),
        (err: unknown) => {
          const serviceError = toError(err);
          // A domain error is the client's answer; only what the table could not place is a bug.
          if (serviceError.code === status.INTERNAL) logger.error({ err, method }, 'request failed');
          callback(serviceError, null);
        },
      );
  };
}
