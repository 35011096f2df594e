/** Closed-loop load generator: `clients` concurrent callers share `connections` gRPC channels. */
import { randomBytes } from 'node:crypto';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import * as hdr from 'hdr-histogram-js';
import { KVServiceClient, PutRequest, RangeRequest } from '../../gen/ts/cairn/v1/kv.js';

export type BenchOp = 'put' | 'range';

export interface BenchConfig {
  op: BenchOp;
  endpoint: string;
  clients: number;
  connections: number;
  /** Stop after this many requests... */
  total?: number;
  /** ...or after this long; when both are set, whichever comes first. */
  durationMs?: number;
  valueSize: number;
  keySpace: number;
  serializable: boolean;
  commandTimeoutMs: number;
  dialTimeoutMs: number;
}

export interface BenchResult {
  op: BenchOp;
  clients: number;
  connections: number;
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  opsPerSec: number;
  /** Latency percentiles of successful requests, in milliseconds. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  /** The whole latency histogram (microseconds), HDR compressed base64, so runs in several processes can be merged. */
  histogram: string;
}

function connect(endpoint: string, timeoutMs: number): Promise<KVServiceClient> {
  // A local subchannel pool gives each client object its own HTTP/2 connection.
  const client = new KVServiceClient(endpoint, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (err) => (err ? (client.close(), reject(err)) : resolve(client)));
  });
}

function call(kv: KVServiceClient, config: BenchConfig, key: Buffer, value: Buffer): Promise<void> {
  const options = { deadline: Date.now() + config.commandTimeoutMs };
  const done =
    (resolve: () => void, reject: (e: ServiceError) => void) =>
    (err: ServiceError | null): void =>
      err ? reject(err) : resolve();
  return new Promise((resolve, reject) => {
    if (config.op === 'put') kv.put(PutRequest.fromPartial({ key, value }), new Metadata(), options, done(resolve, reject));
    else {
      const request = RangeRequest.fromPartial({ key, serializable: config.serializable });
      kv.range(request, new Metadata(), options, done(resolve, reject));
    }
  });
}

export async function runBench(config: BenchConfig): Promise<BenchResult> {
  const channels = await Promise.all(Array.from({ length: config.connections }, () => connect(config.endpoint, config.dialTimeoutMs)));
  const histogram = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });
  // Printable value bytes, generated once: the benchmark measures the store, not the generator.
  const value = Buffer.from(randomBytes(config.valueSize).toString('base64').slice(0, config.valueSize));
  const keyWidth = String(config.keySpace - 1).length;
  let issued = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const stopAt = config.durationMs === undefined ? Infinity : started + config.durationMs;
  const total = config.total ?? Infinity;

  const worker = async (index: number): Promise<void> => {
    const kv = channels[index % channels.length]!;
    while (issued < total && performance.now() < stopAt) {
      issued++;
      const key = Buffer.from(`bench/${String(Math.floor(Math.random() * config.keySpace)).padStart(keyWidth, '0')}`);
      const t0 = process.hrtime.bigint();
      try {
        await call(kv, config, key, value);
        histogram.recordValue(Math.max(1, Math.round(Number(process.hrtime.bigint() - t0) / 1000)));
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: config.clients }, (_, i) => worker(i)));
  } finally {
    for (const kv of channels) kv.close();
  }
  const seconds = (performance.now() - started) / 1000;
  // HDR reports a bucket's upper bound, which can exceed the largest value recorded.
  const ms = (us: number): number => Math.round(Math.min(us, histogram.maxValue)) / 1000;
  const result: BenchResult = {
    op: config.op,
    clients: config.clients,
    connections: config.connections,
    requests: issued,
    errors,
    seconds: Math.round(seconds * 1000) / 1000,
    opsPerSec: Math.round(((issued - errors) / seconds) * 10) / 10,
    latencyMs: {
      mean: ms(histogram.mean),
      p50: ms(histogram.getValueAtPercentile(50)),
      p90: ms(histogram.getValueAtPercentile(90)),
      p99: ms(histogram.getValueAtPercentile(99)),
      p999: ms(histogram.getValueAtPercentile(99.9)),
      max: ms(histogram.maxValue),
    },
    histogram: hdr.encodeIntoCompressedBase64(histogram),
  };
  if (firstError !== undefined) result.firstError = firstError;
  histogram.destroy();
  return result;
}
