/**
 * One trace from the application to the leader's disk, in a real Jaeger: an application
 * with OpenTelemetry set up (this test process) makes a Put through the TypeScript SDK to
 * a FOLLOWER of a three-member cluster of real processes exporting to the same Jaeger. Read
 * back through Jaeger's query API, the trace must hold, with these parent/child links:
 *
 *   app span ─ SDK client span ─ follower's server span ─ follower's raft.forward
 *     ─ leader's raft.propose ─┬ leader's raft.log.fsync  (linked both ways with the propose span)
 *                              └ leader's raft.apply
 */
import test from 'ava';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { CairnClient } from '../../sdk/typescript/src/index.js';
import { startClusterProcesses } from '../helpers/cluster-process.js';
import { startJaeger, type JaegerSpan } from '../helpers/jaeger-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

const KEY = 'traced/key';
const VALUE = 'the-value-never-in-a-span';

test('a Put from the TypeScript SDK to a follower is one trace down to the leader’s fsync and apply', async (t) => {
  const jaeger = await startJaeger();
  t.teardown(() => jaeger.stop());
  // The members (child processes) inherit these: tracing on, spans exported soon.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpEndpoint;
  process.env.OTEL_SERVICE_NAME = 'cairn';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  const leader = await cluster.waitForLeader();
  const follower = cluster.members.find((m) => m.name !== leader)!;

  // The application's own OpenTelemetry setup.
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sdk-test-app' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${jaeger.otlpEndpoint}/v1/traces` }))],
  });
  provider.register();
  t.teardown(() => provider.shutdown());
  const client = new CairnClient({ endpoints: [follower.address], discover: false });
  t.teardown(() => client.close());

  const traceId = await trace.getTracer('test').startActiveSpan('app.update-config', async (span) => {
    try {
      await client.put(KEY, VALUE);
      return span.spanContext().traceId;
    } finally {
      span.end();
    }
  });
  await provider.forceFlush();

  // Every span asserted below: Jaeger stores what each process exported on its own time, so
  // the members' spans can be queryable before this process's own (seen under load).
  const wanted = (spans: JaegerSpan[]): boolean =>
    ['raft.propose', 'raft.log.fsync', 'raft.apply'].every((op) => spans.some((s) => s.operationName === op && s.instance === leader)) &&
    spans.some((s) => s.operationName === 'raft.forward') &&
    spans.some((s) => s.operationName === 'app.update-config') &&
    spans.some((s) => s.service === 'sdk-test-app' && s.operationName === 'cairn.v1.KVService/Put') &&
    spans.some((s) => s.service === 'cairn' && s.operationName === 'cairn.v1.KVService/Put');
  let spans: JaegerSpan[] = [];
  const deadline = Date.now() + MIN_WAIT_MS * 2;
  while (!wanted((spans = await jaeger.trace(traceId)))) {
    if (Date.now() > deadline) {
      t.fail(`trace ${traceId} incomplete in Jaeger: ${describe(spans)}\n${cluster.logs()}\n${jaeger.output()}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  t.log(describe(spans));

  const one = (what: string, pred: (s: JaegerSpan) => boolean): JaegerSpan => {
    const found = spans.filter(pred);
    if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length}: ${describe(spans)}`);
    return found[0]!;
  };
  const app = one('app span', (s) => s.operationName === 'app.update-config');
  const sdk = one('SDK client span', (s) => s.service === 'sdk-test-app' && s.operationName === 'cairn.v1.KVService/Put');
  const server = one('server span', (s) => s.service === 'cairn' && s.operationName === 'cairn.v1.KVService/Put');
  const forward = one('forward span', (s) => s.operationName === 'raft.forward');
  const propose = one('leader propose span', (s) => s.operationName === 'raft.propose' && s.instance === leader);
  const fsync = one('leader fsync span', (s) => s.operationName === 'raft.log.fsync' && s.instance === leader);
  const apply = one('leader apply span', (s) => s.operationName === 'raft.apply' && s.instance === leader);

  t.is(sdk.parent, app.spanID, 'the SDK span is a child of the application span');
  t.is(sdk.tags['span.kind'], 'client');
  t.is(server.parent, sdk.spanID, 'the server span continues the SDK span (traceparent in metadata)');
  t.is(server.instance, follower.name, 'the follower took the request');
  t.is(server.tags['span.kind'], 'server');
  t.is(server.tags['rpc.method'], 'Put');
  t.is(server.tags['rpc.grpc.status_code'], 0);
  t.is(server.tags['cairn.key_length'], KEY.length);
  t.true(typeof server.tags['cairn.revision'] === 'number' && server.tags['cairn.revision'] > 0);
  t.is(forward.parent, server.spanID);
  t.is(forward.instance, follower.name);
  t.is(propose.parent, forward.spanID, "the leader's propose span continues the follower's forward span (trace context in the proposal)");
  t.is(fsync.parent, propose.spanID);
  t.is(apply.parent, propose.spanID);
  t.true(propose.links.includes(fsync.spanID), 'the proposal links to the fsync of its group-commit batch');
  t.true(typeof propose.tags['raft.term'] === 'number' && typeof propose.tags['raft.index'] === 'number');
  for (const s of spans) {
    t.false(JSON.stringify(s.tags).includes(VALUE), `span ${s.operationName} must not carry the value`);
  }
});

function describe(spans: JaegerSpan[]): string {
  return spans.map((s) => `${s.service}/${s.instance ?? '-'}:${s.operationName}#${s.spanID}<-${s.parent ?? 'root'}`).join(', ') || '(none)';
}
