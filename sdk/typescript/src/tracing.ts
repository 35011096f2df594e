/**
 * Client spans for every call, when the application has OpenTelemetry configured: a grpc-js
 * client interceptor that starts a CLIENT span (a child of the application's active span)
 * and puts its W3C traceparent in the call's metadata, so the server's spans, on every
 * member the request touches, join the application's trace. Only @opentelemetry/api is
 * used: without an SDK registered by the application, spans are no-ops and nothing is
 * injected.
 */
import { InterceptingCall, status as grpcStatus, type Interceptor, type Metadata } from '@grpc/grpc-js';
import { context, propagation, SpanKind, SpanStatusCode, trace, type TextMapSetter } from '@opentelemetry/api';

const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

export const tracingInterceptor: Interceptor = (options, nextCall) => {
  const path = options.method_definition.path; // "/cairn.v1.KVService/Put"
  const name = path.slice(1);
  const slash = name.indexOf('/');
  const tracer = trace.getTracer('@cairn/client');
  const span = tracer.startSpan(name, {
    kind: SpanKind.CLIENT,
    attributes: { 'rpc.system': 'grpc', 'rpc.service': name.slice(0, slash), 'rpc.method': name.slice(slash + 1) },
  });
  if (!span.isRecording()) {
    // No SDK (or not sampled): still pass the application's own context on, if it has one.
    return new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        propagation.inject(context.active(), metadata, metadataSetter);
        next(metadata, listener);
      },
    });
  }
  const ctx = trace.setSpan(context.active(), span);
  return new InterceptingCall(nextCall(options), {
    start: (metadata, listener, next) => {
      propagation.inject(ctx, metadata, metadataSetter);
      next(metadata, {
        onReceiveStatus: (status, nextStatus) => {
          span.setAttribute('rpc.grpc.status_code', status.code);
          if (status.code !== grpcStatus.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: status.details });
          span.end();
          nextStatus(status);
        },
      });
    },
  });
};
