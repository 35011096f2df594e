/**
 * The spans that are not on a write's request path, in a real Jaeger, from a three-member
 * cluster of real processes:
 *
 * - watch delivery: a traced Put to a follower, with a watch open on the leader and on that
 *   follower, holds a `watch.deliver` span on each, child of that member's raft.apply span;
 * - snapshot transfer: a follower kept down while the log is compacted past it and brought
 *   back catches up by snapshot, and one trace holds the leader's raft.snapshot.send, the
 *   follower's raft.snapshot.receive (its child, context in the transfer's metadata) and
 *   raft.snapshot.install (child of the receive span).
 */
import anyTest, { type TestFn } from 'ava';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { CairnClient, type WatchBatch } from '../../sdk/typescript/src/index.js';
import { startClusterProcesses, type ClusterProcesses } from '../helpers/cluster-process.js';
import { startJaeger, type JaegerProcess, type JaegerSpan } from '../helpers/jaeger-process.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

const SNAPSHOT_COUNT = 50;
/** Writes while a follower is down: well past --snapshot-count, so the log is compacted beyond it. */
const WRITES_WHILE_DOWN = 200;

interface Context {
  jaeger: JaegerProcess;
  cluster: ClusterProcesses;
  provider: NodeTracerProvider;
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const jaeger = await startJaeger();
  // The members (child processes, restarts included) inherit these: tracing on, spans exported soon.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpEndpoint;
  process.env.OTEL_SERVICE_NAME = 'cairn';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  let cluster: ClusterProcesses;
  try {
    cluster = await startClusterProcesses(3, ['--snapshot-count', String(SNAPSHOT_COUNT), '--snapshot-catch-up-entries', '10']);
  } catch (err) {
    await jaeger.stop();
    throw err;
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sdk-test-app' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${jaeger.otlpEndpoint}/v1/traces` }))],
  });
  provider.register();
  t.context = { jaeger, cluster, provider };
});

test.after.always(async (t) => {
  await t.context.provider?.shutdown();
  await t.context.cluster?.cleanup();
  await t.context.jaeger?.stop();
});

test.serial('a traced Put with watches open shows watch.deliver on the leader and the follower, in the put’s trace', async (t) => {
  const { jaeger, cluster } = t.context;
  const leader = await cluster.waitForLeader();
  const follower = cluster.members.find((m) => m.name !== leader)!;
  const toLeader = new CairnClient({ endpoints: [cluster.member(leader).address], discover: false });
  const toFollower = new CairnClient({ endpoints: [follower.address], discover: false });
  t.teardown(() => {
    toLeader.close();
    toFollower.close();
  });

  // Watches open on both members; a first Put seen on both proves they are live. That one
  // is made in a trace that is not sampled, so nothing of it may be recorded anywhere.
  const aborter = new AbortController();
  t.teardown(() => aborter.abort());
  const watches = [toLeader, toFollower].map((c) => c.watch('watched/', { prefix: true, signal: aborter.signal })[Symbol.asyncIterator]());
  const nextBatch = (i: number): Promise<WatchBatch> => watches[i]!.next().then((r) => r.value as WatchBatch);
  const firstSeen = Promise.all([nextBatch(0), nextBatch(1)]);
  const unsampledTraceId = 'aa'.repeat(16);
  const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: unsampledTraceId, spanId: 'bb'.repeat(8), traceFlags: TraceFlags.NONE });
  await context.with(unsampled, () => toFollower.put('watched/warm-up', 'x'));
  await firstSeen;

  const secondSeen = Promise.all([nextBatch(0), nextBatch(1)]);
  const traceId = await trace.getTracer('test').startActiveSpan('app.update-watched', async (span) => {
    try {
      await toFollower.put('watched/key', 'v');
      return span.spanContext().traceId;
    } finally {
      span.end();
    }
  });
  const [seenByLeader] = await secondSeen;
  await t.context.provider.forceFlush();

  const wanted = (spans: JaegerSpan[]): boolean =>
    [leader, follower.name].every((m) =>
      ['raft.apply', 'watch.deliver'].every((op) => spans.some((s) => s.operationName === op && s.instance === m)),
    );
  const spans = await waitForTrace(jaeger, traceId, wanted, () => cluster.logs());
  t.log(describe(spans));
  for (const member of [leader, follower.name]) {
    const deliveries = spans.filter((s) => s.operationName === 'watch.deliver' && s.instance === member);
    t.is(deliveries.length, 1, `one watch.deliver on ${member}: one commit, one stream`);
    const deliver = deliveries[0]!;
    const apply = spans.find((s) => s.spanID === deliver.parent);
    t.is(apply?.operationName, 'raft.apply', `watch.deliver on ${member} is a child of its raft.apply`);
    t.is(apply?.instance, member);
    t.is(deliver.tags['cairn.watchers_matched'], 1);
    t.is(deliver.tags['cairn.events'], 1);
    t.is(deliver.tags['cairn.revision'], Number(seenByLeader.revision));
    t.is(typeof deliver.tags['cairn.watch_stream_id'], 'number');
  }
  // Exported before the sampled write's spans (each member exports in the order spans end).
  t.deepEqual(describe(await jaeger.trace(unsampledTraceId)), '(none)', 'a write whose trace is not sampled records nothing');
});

test.serial('a follower brought back by snapshot shows raft.snapshot.send, receive and install in one trace', async (t) => {
  const { jaeger, cluster } = t.context;
  const leader = await cluster.waitForLeader();
  const follower = cluster.members.find((m) => m.name !== leader)!;
  await follower.process.stop();
  const client = new CairnClient({ endpoints: [cluster.member(leader).address], discover: false });
  t.teardown(() => client.close());
  for (let i = 0; i < WRITES_WHILE_DOWN; i++) await client.put(`bulk/${i}`, String(i));
  await follower.process.restart();
  await cluster.waitForConvergence(MIN_WAIT_MS * 2);
  t.regex(follower.process.output(), /installed snapshot from the leader/, 'the follower caught up by snapshot');

  const complete = (spans: JaegerSpan[]): boolean =>
    spans.some((s) => s.operationName === 'raft.snapshot.send' && s.instance === leader) &&
    ['raft.snapshot.receive', 'raft.snapshot.install'].every((op) =>
      spans.some((s) => s.operationName === op && s.instance === follower.name),
    );
  let spans: JaegerSpan[] | undefined;
  const deadline = Date.now() + MIN_WAIT_MS * 2;
  while ((spans = (await jaeger.search('raft.snapshot.receive')).find(complete)) === undefined) {
    if (Date.now() > deadline) {
      t.fail(`no complete snapshot trace in Jaeger\n${cluster.logs()}\n${jaeger.output()}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  t.log(describe(spans));
  const send = spans.find((s) => s.operationName === 'raft.snapshot.send')!;
  const receive = spans.find((s) => s.operationName === 'raft.snapshot.receive')!;
  const install = spans.find((s) => s.operationName === 'raft.snapshot.install')!;
  t.is(send.parent, undefined, 'a snapshot transfer starts a trace of its own');
  t.is(receive.parent, send.spanID, 'the receive span continues the send span (traceparent in the transfer metadata)');
  t.is(install.parent, receive.spanID);
  const followerId = String((await follower.status())?.header?.memberId);
  t.is(send.tags['cairn.to'], followerId);
  t.is(receive.tags['raft.snapshot.index'], send.tags['raft.snapshot.index']);
  t.is(install.tags['raft.snapshot.index'], send.tags['raft.snapshot.index']);
  t.true((send.tags['raft.snapshot.bytes'] as number) > 0);
  t.is(receive.tags['raft.snapshot.bytes'], send.tags['raft.snapshot.bytes'], 'every byte sent arrived');
  t.true((send.tags['raft.snapshot.chunks'] as number) >= 1);
});

async function waitForTrace(
  jaeger: JaegerProcess,
  traceId: string,
  wanted: (spans: JaegerSpan[]) => boolean,
  logs: () => string,
): Promise<JaegerSpan[]> {
  const deadline = Date.now() + MIN_WAIT_MS * 2;
  let spans: JaegerSpan[] = [];
  while (!wanted((spans = await jaeger.trace(traceId)))) {
    if (Date.now() > deadline) throw new Error(`trace ${traceId} incomplete in Jaeger: ${describe(spans)}\n${logs()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return spans;
}

function describe(spans: JaegerSpan[]): string {
  return spans.map((s) => `${s.service}/${s.instance ?? '-'}:${s.operationName}#${s.spanID}<-${s.parent ?? 'root'}`).join(', ') || '(none)';
}
