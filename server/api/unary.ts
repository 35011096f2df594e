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
  const fail = (callback: sendUnaryData<Res>, err: unknown): void => {
    const serviceError = toError(err);
    // A domain error is the client's answer; only what the table could not place is a bug.
    if (serviceError.code === status.INTERNAL) logger.error({ err, method }, 'request failed');
    callback(serviceError, null);
  };
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    // One promise and two closures per call: a chain started from Promise.resolve() cost two
    // more promises and a closure on every request. A synchronous throw (validation) is
    // caught here and mapped the same way.
    let pending: Promise<Res>;
    try {
      pending = handler(call.request, call);
    } catch (err: unknown) {
      fail(callback, err);
      return;
    }
    pending.then(
      (response) => callback(null, response),
      (err: unknown) => fail(callback, err),
    );
  };
}
