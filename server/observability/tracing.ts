/**
 * OpenTelemetry tracing for a member, configured only by the standard OTEL_* variables:
 *
 *   OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)  turns tracing on:
 *       spans go there over OTLP/HTTP (protobuf), e.g. http://localhost:4318
 *   OTEL_SERVICE_NAME          default "cairn"
 *   OTEL_TRACES_SAMPLER(_ARG)  default parentbased_always_on; e.g. parentbased_traceidratio + 0.01
 *   OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none   keep it off
 *
 * Off (no endpoint), nothing is registered: @opentelemetry/api then hands out no-op spans
 * and an empty context, and the server installs no tracing interceptor at all, so a
 * request pays nothing for it. Nor does the member's memory: the SDK and its exporter are
 * loaded only when tracing is on (measured: 3.7 MiB of V8 heap and about 17 MiB of RSS for
 * a process that loads them, which a member without tracing no longer carries).
 */

export interface Tracing {
  /** Flushes spans not yet exported and stops the exporter. */
  shutdown(): Promise<void>;
}

/** The OTEL_* variables ask for traces to be exported. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').toLowerCase() === 'none') return false;
  return (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '') !== '';
}

/**
 * Registers the process-wide tracer provider (W3C trace context propagation, the
 * AsyncLocalStorage context manager) when the environment asks for it; undefined otherwise.
 * One member per process: a second call in the same process returns undefined.
 */
export async function startTracing(
  member: { name: string; id: number },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  if (!tracingRequested(env) || registered) return undefined;
  registered = true;
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor }, { NodeTracerProvider }, { ATTR_SERVICE_NAME }] =
    await Promise.all([
      import('@opentelemetry/exporter-trace-otlp-proto'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? 'cairn',
      'service.instance.id': member.name,
      'cairn.member_id': String(member.id),
    }),
    // The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (the SDK reads them).
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}

let registered = false;
