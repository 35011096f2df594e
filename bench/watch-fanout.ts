/**
 * Watch fan-out measurement: one member (a real `cairn serve` process), many watches on one
 * key spread over many streams, a writer putting that key at a fixed rate. Reports delivery
 * latency (put sent -> event received, per watch), missed and duplicated events, the
 * writer's put latency, and the member's RSS and CPU.
 *
 *   npx tsc -p . && node dist/bench/watch-fanout.js --watches 10000 --streams 100 --rate 50 --seconds 20
 *
 * Options: --watches N, --streams N, --streams-per-channel N (100), --rate puts/s,
 * --seconds S (writing), --drain S (how long to wait for stragglers after the last put),
 * --value-bytes N, --window BYTES (the client's HTTP/2 flow-control window; grpc-js keeps
 * 64 KiB unless told, grpc-go grows it), --serve-args "..." (extra `cairn serve` flags),
 * --endpoint host:port (use a running member instead, e.g. one started under
 * `node --cpu-prof bin/cairn.js serve ...`), --pid N (that member's process id, for RSS
 * and CPU). Prints one JSON object; memberCpuMsPer1000Events is the steadiest figure on a
 * shared machine.
 *
 * The client decodes responses by hand (only watch id, mod_revision and the value) so that
 * it costs far less CPU than the member it measures; even so, on a small machine the client
 * competes with the member for cores: compare runs made on the same machine.
 */
import { credentials, Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { KVServiceClient, PutRequest, type PutResponse } from '../gen/ts/cairn/v1/kv.js';
import type { WatchRequest } from '../gen/ts/cairn/v1/watch.js';
import { startNodeProcess, type NodeProcess } from '../test/helpers/node-process.js';
import { createRequest, openRawWatch, parseWatchResponse } from '../test/helpers/watch-wire.js';

interface Flags {
  watches: number;
  streams: number;
  streamsPerChannel: number;
  rate: number;
  seconds: number;
  drain: number;
  valueBytes: number;
  serveArgs: string[];
  endpoint: string | undefined;
  pid: number | undefined;
  window: number | undefined;
}

function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    watches: 10_000,
    streams: 100,
    streamsPerChannel: 100,
    rate: 50,
    seconds: 20,
    drain: 30,
    valueBytes: 32,
    serveArgs: [],
    endpoint: undefined,
    pid: undefined,
    window: undefined,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!;
    const value = argv[i + 1] ?? '';
    switch (name) {
      case '--watches':
        f.watches = Number(value);
        break;
      case '--streams':
        f.streams = Number(value);
        break;
      case '--streams-per-channel':
        f.streamsPerChannel = Number(value);
        break;
      case '--rate':
        f.rate = Number(value);
        break;
      case '--seconds':
        f.seconds = Number(value);
        break;
      case '--drain':
        f.drain = Number(value);
        break;
      case '--value-bytes':
        f.valueBytes = Number(value);
        break;
      case '--serve-args':
        f.serveArgs = value.split(' ').filter((a) => a !== '');
        break;
      case '--endpoint':
        f.endpoint = value;
        break;
      case '--window':
        f.window = Number(value);
        break;
      case '--pid':
        f.pid = Number(value);
        break;
      default:
        throw new Error(`unknown option ${name}`);
    }
  }
  return f;
}

const KEY = Buffer.from('fanout/key');

/** Per-watch delivery state. */
interface WatchState {
  last: number;
  count: number;
}

class Histogram {
  private readonly values: number[] = [];
  add(v: number): void {
    this.values.push(v);
  }
  get count(): number {
    return this.values.length;
  }
  percentile(p: number): number {
    if (this.values.length === 0) return NaN;
    const sorted = Float64Array.from(this.values).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  }
}

function procStatus(pid: number): { rssMb: number; cpuS: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
    return { rssMb: rss, cpuS: cpu };
  } catch {
    return { rssMb: NaN, cpuS: NaN };
  }
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  let node: NodeProcess | undefined;
  let address = flags.endpoint;
  if (address === undefined) {
    node = await startNodeProcess({ args: ['--log-level', 'warn', ...flags.serveArgs] });
    address = node.address;
  }
  const pid = node?.pid ?? flags.pid;
  const perStream = Math.ceil(flags.watches / flags.streams);
  console.log(
    `member ${address}${pid ? ` pid ${pid}` : ''}; ${flags.watches} watches over ${flags.streams} streams (${perStream} each), ${flags.rate} puts/s for ${flags.seconds} s`,
  );

  const channelOptions: Record<string, number> = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
  // grpc-go grows its windows with the bandwidth-delay product; grpc-js keeps 64 KiB unless told.
  if (flags.window !== undefined) channelOptions['grpc-node.flow_control_window'] = flags.window;
  const channels: Client[] = [];
  const streams: ClientDuplexStream<WatchRequest, Buffer>[] = [];
  const states: Map<number, WatchState>[] = [];
  const latency = new Histogram();
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let created = 0;
  let canceled = 0;
  let responses = 0;
  let firstRevision = Infinity;

  for (let s = 0; s < flags.streams; s++) {
    if (s % flags.streamsPerChannel === 0) channels.push(new Client(address, credentials.createInsecure(), channelOptions));
    const client = channels[channels.length - 1]!;
    const call = openRawWatch(client);
    const watches = new Map<number, WatchState>();
    states.push(watches);
    call.on('data', (buf: Buffer) => {
      responses++;
      const r = parseWatchResponse(buf);
      if (r.created) {
        created++;
        watches.set(r.watchId, { last: 0, count: 0 });
      }
      if (r.canceled) canceled++;
      if (r.events.length === 0) return;
      const w = watches.get(r.watchId);
      if (w === undefined) return;
      const t = now();
      for (const e of r.events) {
        const rev = e.modRevision;
        const sent = Number(e.value.toString('latin1', 0, Math.min(e.value.length, 24)).split(' ')[0]);
        if (rev < firstRevision) continue;
        if (rev === w.last) duplicates++;
        else if (rev < w.last) outOfOrder++;
        else {
          w.last = rev;
          w.count++;
          delivered++;
          latency.add(t - sent);
        }
      }
    });
    call.on('error', (err: Error) => {
      if (!/CANCELLED/.test(err.message)) console.error(`stream ${s}: ${err.message}`);
    });
    streams.push(call);
    const n = Math.min(perStream, flags.watches - s * perStream);
    for (let i = 0; i < n; i++) {
      call.write(createRequest({ key: KEY }));
    }
  }
  const createStart = Date.now();
  while (created < flags.watches && Date.now() - createStart < 120_000) await sleep(50);
  console.log(`created ${created} watches in ${Date.now() - createStart} ms`);
  await sleep(1000);
  const base = pid ? procStatus(pid) : { rssMb: NaN, cpuS: NaN };
  const clientCpuStart = process.cpuUsage();
  console.log(`member RSS with the watches open: ${base.rssMb.toFixed(0)} MB`);

  const kv = new KVServiceClient(address, credentials.createInsecure());
  const put = (value: Buffer): Promise<PutResponse> =>
    new Promise((resolve, reject) => kv.put(PutRequest.fromPartial({ key: KEY, value }), (err, res) => (err ? reject(err) : resolve(res))));
  // The first put fixes the revision from which events are counted.
  const first = await put(Buffer.from(`${now()} `));
  firstRevision = first.header!.revision + 1;

  let peakRss = base.rssMb;
  const sampler = setInterval(() => {
    if (pid) peakRss = Math.max(peakRss, procStatus(pid).rssMb);
  }, 250);

  const putLatency = new Histogram();
  const total = Math.round(flags.rate * flags.seconds);
  const pad = Buffer.alloc(Math.max(0, flags.valueBytes - 20), 0x61).toString('latin1');
  const start = now();
  let failedPuts = 0;
  let lastRevision = 0;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / flags.rate;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    const sent = now();
    inflight.push(
      put(Buffer.from(`${sent} ${pad}`, 'latin1')).then(
        (res) => {
          putLatency.add(now() - sent);
          lastRevision = Math.max(lastRevision, res.header!.revision);
        },
        () => void failedPuts++,
      ),
    );
  }
  await Promise.all(inflight);
  const writeEnd = now();
  const expectedRevisions = lastRevision - firstRevision + 1;
  const expected = expectedRevisions * flags.watches;
  const mid = pid ? procStatus(pid) : { rssMb: NaN, cpuS: NaN };
  while (delivered < expected && now() - writeEnd < flags.drain * 1000) await sleep(100);
  const drainS = (now() - writeEnd) / 1000;
  clearInterval(sampler);
  const end = pid ? procStatus(pid) : { rssMb: NaN, cpuS: NaN };
  if (pid) peakRss = Math.max(peakRss, end.rssMb);

  let watchesComplete = 0;
  for (const m of states) for (const w of m.values()) if (w.count === expectedRevisions) watchesComplete++;
  const p = (x: number): string => x.toFixed(1);
  console.log(
    JSON.stringify(
      {
        watches: flags.watches,
        streams: flags.streams,
        rate: flags.rate,
        puts: total,
        failedPuts,
        putP50Ms: +p(putLatency.percentile(50)),
        putP99Ms: +p(putLatency.percentile(99)),
        expectedEvents: expected,
        delivered,
        missed: expected - delivered,
        duplicates,
        outOfOrder,
        watchesComplete,
        canceled,
        responses,
        eventsPerResponse: +(delivered / Math.max(1, responses)).toFixed(2),
        latencyP50Ms: +p(latency.percentile(50)),
        latencyP99Ms: +p(latency.percentile(99)),
        latencyMaxMs: +p(latency.percentile(100)),
        drainSeconds: +drainS.toFixed(1),
        rssBaseMb: Math.round(base.rssMb),
        rssAfterWritesMb: Math.round(mid.rssMb),
        rssPeakMb: Math.round(peakRss),
        memberCpuSeconds: +(end.cpuS - base.cpuS).toFixed(1),
        memberCpuMsPer1000Events: +((1e6 * (end.cpuS - base.cpuS)) / Math.max(1, delivered)).toFixed(2),
        clientCpuSeconds: +((process.cpuUsage(clientCpuStart).user + process.cpuUsage(clientCpuStart).system) / 1e6).toFixed(1),
      },
      null,
      1,
    ),
  );
  for (const call of streams) call.cancel();
  for (const c of channels) c.close();
  kv.close();
  if (node !== undefined) {
    await node.stop();
    await node.cleanup();
  }
}

await main();
process.exit(0);
