import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CairnError } from '../errors.js';
import { toServiceError } from './errors.js';

/**
 * Adapts an async handler to grpc-js's callback style: results and domain errors go back
 * as a response or a status; anything unexpected is logged and answered as INTERNAL.
 */
export function unary<Req, Res>(logger: Logger, method: string, handler: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    // Run the handler inside the promise so that a synchronous throw (validation) is mapped too.
    Promise.resolve(call.request)
      .then((req) => handler(req, call))
      .then(
        (response) => callback(null, response),
        (err: unknown) => {
          if (!(err instanceof CairnError)) logger.error({ err, method }, 'request failed');
          callback(toServiceError(err), null);
        },
      );
  };
}
