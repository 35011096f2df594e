/**
 * A log line written while a traced request is being served carries the request's trace_id
 * and span_id (the real OpenTelemetry SDK, spans kept in its in-memory exporter); a line
 * written outside any span carries neither.
 */
import test from 'ava';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Writable } from 'node:stream';
import { createLogger } from '../../server/observability/logging.js';

test('log lines inside a span carry its trace_id and span_id; others do not', async (t) => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  t.teardown(() => provider.shutdown());
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk
        .toString()
        .split('\n')
        .filter((l) => l !== ''))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger('info', sink);

  logger.info({ address: 'a' }, 'before');
  const ids = await trace.getTracer('test').startActiveSpan('request', async (span) => {
    await Promise.resolve(); // across an await, as in a handler
    logger.info('while serving');
    span.end();
    return span.spanContext();
  });
  logger.info({ address: 'b' }, 'after');
  await new Promise((r) => setImmediate(r));

  t.is(lines.length, 3);
  t.is(lines[0]!.trace_id, undefined);
  t.is(lines[0]!.address, 'a', "the line's own fields are kept");
  t.is(lines[1]!.trace_id, ids.traceId);
  t.is(lines[1]!.span_id, ids.spanId);
  t.is(lines[2]!.span_id, undefined);
  t.is(exporter.getFinishedSpans().length, 1);
});
