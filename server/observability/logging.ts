import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * A line logged while serving a traced request carries its trace_id and span_id, so logs
 * and traces of one request can be found from each other. Without tracing (no active span)
 * it adds nothing.
 */
function traceFields(): object {
  const span = trace.getActiveSpan();
  // A new object each time: pino merges the line's own fields into it.
  if (span === undefined) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}

/** Structured JSON logs on stderr, so stdout stays free for the CLI's own output. */
export function createLogger(level: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({ level, base: { service: 'cairn' }, mixin: traceFields }, destination);
}
