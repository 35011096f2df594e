/**
 * Counts and times every RPC the member's gRPC server handles, unary and streaming alike,
 * from one grpc-js server interceptor: handlers know nothing of it, and a service added
 * later is covered without a line of its own. What is done with the numbers is the
 * observer's business (Prometheus in production, see server/observability/metrics.ts).
 */
import { ServerInterceptingCall, status as grpcStatus, type ServerInterceptor } from '@grpc/grpc-js';

/**
 * What the interceptor reports. `rpcMethod` is asked once per call for the method's handle
 * (the observer caches it), so reporting a call allocates nothing per label.
 */
export interface RpcObserver<Method> {
  rpcMethod(path: string, type: RpcType): Method;
  rpcStarted(method: Method): void;
  /** Once per call: its status code (CANCELLED if the client went away first) and duration. */
  rpcFinished(method: Method, code: number, seconds: number): void;
}

export type RpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

export function rpcObserverInterceptor<Method>(observer: RpcObserver<Method>): ServerInterceptor {
  return (descriptor, call) => {
    const type: RpcType = descriptor.requestStream
      ? descriptor.responseStream
        ? 'bidi_stream'
        : 'client_stream'
      : descriptor.responseStream
        ? 'server_stream'
        : 'unary';
    const method = observer.rpcMethod(descriptor.path, type);
    const started = performance.now();
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      observer.rpcFinished(method, code, (performance.now() - started) / 1000);
    };
    observer.rpcStarted(method);
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => finish(grpcStatus.CANCELLED) }),
      sendStatus: (status, next) => {
        finish(status.code);
        next(status);
      },
    });
  };
}
