/**
 * The one grpc-js interceptor layer around every call the member serves: the RPC metrics
 * (rpc-observer.ts) and the refusal of out-of-range 64-bit integers (int64-range.ts).
 *
 * Why one: grpc-js builds a ServerInterceptingCall per interceptor per call, each with its
 * listener object, responder and a closure per event, and passes every event through each
 * layer. Profiled under puts, the interceptor machinery took about 5 % of a member's main
 * thread with the base call and two layers; these two share one now. Tracing, when it is
 * on, stays a layer of its own (rpc-tracing.ts): it is off unless an exporter is set.
 */
import { ServerInterceptingCall, status as grpcStatus, type ServerInterceptor } from '@grpc/grpc-js';
import { Int64OutOfRange, int64RefusalStatus } from './int64-range.js';
import { observeCall, type RpcObserver } from './rpc-observer.js';

export function callLayer<Method>(observer: RpcObserver<Method> | undefined): ServerInterceptor {
  return (descriptor, call) => {
    const observation = observer === undefined ? undefined : observeCall(observer, descriptor);
    let refused = false;
    const layer: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message: unknown, nextMessage) => {
            if (refused) return;
            if (message instanceof Int64OutOfRange) {
              // Through this layer's own sendStatus, so the metrics count the refusal.
              refused = true;
              layer.sendStatus(int64RefusalStatus(message));
              return;
            }
            nextMessage(message);
          },
          onReceiveHalfClose: (next) => {
            if (!refused) next();
          },
          onCancel: () => observation?.finished(grpcStatus.CANCELLED),
        }),
      sendStatus: (status, next) => {
        observation?.finished(status.code);
        next(status);
      },
    });
    return layer;
  };
}
