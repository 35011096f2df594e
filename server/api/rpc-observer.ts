/**
 * Counts and times every RPC the member's gRPC server handles, unary and streaming alike,
 * from the member's one grpc-js interceptor layer (call-layer.ts): handlers know nothing of
 * it, and a service added later is covered without a line of its own. What is done with the
 * numbers is the observer's business (Prometheus in production, see
 * server/observability/metrics.ts).
 */

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

/** One call's report: `finished` may be called more than once (a cancel, then a status); the first counts. */
export interface CallObservation {
  finished(code: number): void;
}

/** Reports the call as started, and returns what reports it finished (call-layer.ts calls both). */
export function observeCall<Method>(
  observer: RpcObserver<Method>,
  descriptor: { path: string; requestStream: boolean; responseStream: boolean },
): CallObservation {
  const type: RpcType = descriptor.requestStream
    ? descriptor.responseStream
      ? 'bidi_stream'
      : 'client_stream'
    : descriptor.responseStream
      ? 'server_stream'
      : 'unary';
  const method = observer.rpcMethod(descriptor.path, type);
  const started = performance.now();
  let done = false;
  observer.rpcStarted(method);
  return {
    finished: (code) => {
      if (done) return;
      done = true;
      observer.rpcFinished(method, code, (performance.now() - started) / 1000);
    },
  };
}
