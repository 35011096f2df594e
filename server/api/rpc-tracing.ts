/**
 * A server span per client RPC, from a grpc-js server interceptor (handlers know nothing of
 * tracing). The W3C `traceparent` in the call's metadata makes it a child of the client's
 * span; the handler runs inside the span's context, so what it waits on (forwarding to the
 * leader, ReadIndex: server/node/) and the log lines it writes join the trace.
 *
 * Installed only when tracing is on (server/observability/tracing.ts): off, a call passes
 * no interceptor at all.
 *
 * Attributes are what an operator filters on: rpc method, gRPC status, member id, key
 * length and response revision; never a value.
 */
import { ServerInterceptingCall, status as grpcStatus, type Metadata, type ServerInterceptor } from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type TextMapGetter } from '@opentelemetry/api';

/** Services whose calls are traced: the public API, not Raft's peer streams, health or reflection. */
const TRACED_PREFIX = '/cairn.v1.';

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    return values.map((v) => (typeof v === 'string' ? v : v.toString('latin1')));
  },
};

export function rpcTracingInterceptor(memberId: number): ServerInterceptor {
  const tracer = trace.getTracer('cairn-server');
  return (descriptor, call) => {
    if (!descriptor.path.startsWith(TRACED_PREFIX)) return new ServerInterceptingCall(call);
    const name = descriptor.path.slice(1);
    const slash = name.indexOf('/');
    let span: Span | undefined;
    let ctx = ROOT_CONTEXT;
    let ended = false;
    const end = (code: grpcStatus, details?: string): void => {
      if (ended || span === undefined) return;
      ended = true;
      span.setAttribute('rpc.grpc.status_code', code);
      if (code !== grpcStatus.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: details ?? grpcStatus[code] ?? String(code) });
      span.end();
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
            span = tracer.startSpan(
              name,
              {
                kind: SpanKind.SERVER,
                attributes: {
                  'rpc.system': 'grpc',
                  'rpc.service': name.slice(0, slash),
                  'rpc.method': name.slice(slash + 1),
                  'cairn.member_id': String(memberId),
                },
              },
              parent,
            );
            ctx = trace.setSpan(parent, span);
            context.with(ctx, () => nextMetadata(metadata));
          },
          onReceiveMessage: (message: unknown, nextMessage) => {
            const key = (message as { key?: unknown } | null)?.key;
            if (span !== undefined && key instanceof Uint8Array) span.setAttribute('cairn.key_length', key.length);
            context.with(ctx, () => nextMessage(message));
          },
          onReceiveHalfClose: (nextHalfClose) => context.with(ctx, () => nextHalfClose()),
          onCancel: () => end(grpcStatus.CANCELLED, 'cancelled by the client'),
        }),
      sendMessage: (message: unknown, next) => {
        // Unary responses are objects with a header; watch responses arrive pre-encoded.
        const revision = (message as { header?: { revision?: unknown } } | null)?.header?.revision;
        if (span !== undefined && typeof revision === 'number') span.setAttribute('cairn.revision', revision);
        next(message);
      },
      sendStatus: (status, next) => {
        end(status.code ?? grpcStatus.UNKNOWN, status.details);
        next(status);
      },
    });
  };
}
