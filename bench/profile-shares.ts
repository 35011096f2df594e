/**
 * Turns a V8 .cpuprofile (from `node --cpu-prof`) of a Cairn member into the table of
 * "Where the time goes" in docs/benchmarks.md: the share of the member's busy CPU spent in
 * each part (grpc-js/http2, protobuf, validation, auth, metrics, tracing, Raft, MVCC,
 * storage, logging, GC, ...), and the functions with the most self time.
 *
 *   npx tsx bench/profile-shares.ts PROFILE.cpuprofile [--from US --to US] [--ops N] [--top N]
 *
 * --from/--to keep only the samples in that window (microseconds of CLOCK_MONOTONIC, the clock
 * V8 stamps samples with; bench/profile-member.sh records the load generator's run so).
 * --ops divides the busy time by the operations served in the window: CPU ms per 1k ops.
 *
 * A sample is charged to the innermost frame on its stack that belongs to a known part:
 * Node's own JavaScript (streams, buffers, timers, task queues) and native code have no part
 * of their own and are charged to whoever called them (a socket write from grpc-js counts as
 * grpc-js, a Buffer copy in the protobuf writer as protobuf).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The parts, first match wins; a frame matching none is charged to its caller. */
const PARTS: ReadonlyArray<readonly [part: string, test: (url: string) => boolean]> = [
  ['startup (module loading)', (u) => u.startsWith('node:internal/modules') || u.includes('cjs-module-lexer')],
  ['grpc-js / http2', (u) => u.includes('/@grpc/') || u.startsWith('node:internal/http2') || u === 'node:http2'],
  [
    'protobuf encode/decode',
    (u) => u.includes('/@bufbuild/') || u.includes('/protobufjs/') || u.includes('/@protobufjs/') || u.includes('/gen/ts/'),
  ],
  ['validation (validate, int64 range)', (u) => /\/server\/api\/(validate|int64-range)\.js/.test(u)],
  ['auth guard', (u) => u.includes('/server/api/auth/') || u.includes('/server/apply/auth/')],
  [
    'metrics (prom-client, rpc-observer)',
    (u) => u.includes('/prom-client/') || /\/server\/(api\/rpc-observer|observability\/metrics)\.js/.test(u),
  ],
  [
    'tracing (OpenTelemetry, rpc-tracing)',
    (u) => u.includes('/@opentelemetry/') || /\/server\/(api\/rpc-tracing|observability\/tracing|node\/raft-tracing)\.js/.test(u),
  ],
  [
    'logging (pino)',
    (u) =>
      u.includes('/pino') || u.includes('/sonic-boom/') || u.includes('/thread-stream/') || u.includes('/server/observability/logging.js'),
  ],
  ['Raft (core, driver)', (u) => u.includes('/server/raft/') || u.includes('/server/node/')],
  ['peer transport', (u) => u.includes('/server/transport/')],
  ['apply (state machine, lessor)', (u) => u.includes('/server/apply/')],
  ['MVCC (key index, watch hub)', (u) => u.includes('/server/mvcc/') || u.includes('/sorted-btree/')],
  [
    'storage / engine (WAL, RocksDB)',
    (u) => u.includes('/server/storage/') || u.includes('/@nxtedition/rocksdb/') || u.includes('level') || u.includes('/rocksdb/'),
  ],
  ['api handlers (Cairn, rest)', (u) => u.includes('/server/api/')],
  ['Cairn, other', (u) => u.includes('/server/') || u.includes('/dist/')],
  ['other libraries', (u) => u.includes('/node_modules/')],
];
const NODE_AND_NATIVE = 'Node core / native (no caller known)';
const LEAF_PARTS = new Map([
  ['(garbage collector)', 'GC'],
  ['(program)', 'V8 / native (program)'],
]);
const IDLE = '(idle)';

function partOf(frame: CallFrame): string | undefined {
  const leaf = LEAF_PARTS.get(frame.functionName);
  if (leaf !== undefined) return leaf;
  if (frame.url === '') return undefined;
  return PARTS.find(([, test]) => test(frame.url))?.[0];
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, '');
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, to: { type: 'string' }, ops: { type: 'string' }, top: { type: 'string', default: '15' } },
});
const file = positionals[0];
if (positionals.length !== 1 || file === undefined) {
  console.error('usage: profile-shares.ts PROFILE.cpuprofile [--from US --to US] [--ops N] [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const from = values.from === undefined ? -Infinity : Number(values.from);
const to = values.to === undefined ? Infinity : Number(values.to);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** A node's part, memoised: its own frame's, else its caller's. */
const partCache = new Map<number, string>();
function partOfNode(id: number): string {
  const cached = partCache.get(id);
  if (cached !== undefined) return cached;
  const node = byId.get(id);
  let part = node === undefined ? NODE_AND_NATIVE : partOf(node.callFrame);
  if (part === undefined) {
    const up = parent.get(id);
    part = up === undefined ? NODE_AND_NATIVE : partOfNode(up);
  }
  partCache.set(id, part);
  return part;
}

const partUs = new Map<string, number>();
const selfUs = new Map<string, number>();
let busyUs = 0;
let idleUs = 0;
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  // A sample's delta is the time since the previous sample: charge it to this one.
  const delta = profile.timeDeltas[i] ?? 0;
  t += delta;
  if (t < from || t > to) continue;
  const id = profile.samples[i];
  const node = id === undefined ? undefined : byId.get(id);
  if (node === undefined || id === undefined) continue;
  if (node.callFrame.functionName === IDLE) {
    idleUs += delta;
    continue;
  }
  busyUs += delta;
  const part = partOfNode(id);
  partUs.set(part, (partUs.get(part) ?? 0) + delta);
  const f = node.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''} [${part}]`;
  selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
}

const startup = partUs.get('startup (module loading)') ?? 0;
const counted = busyUs - startup;
const pct = (us: number) => ((100 * us) / counted).toFixed(1).padStart(5);
const ops = values.ops === undefined ? undefined : Number(values.ops);
console.log(`profile: ${file}`);
console.log(
  `window: ${((Math.min(to, profile.endTime) - Math.max(from, profile.startTime)) / 1e6).toFixed(1)} s, busy ${(counted / 1e3).toFixed(0)} ms` +
    `, idle ${(idleUs / 1e3).toFixed(0)} ms` +
    (startup > 0 ? `, startup ${(startup / 1e3).toFixed(0)} ms left out` : '') +
    (ops ? `, ${ops} ops: ${((counted / 1e3 / ops) * 1000).toFixed(0)} CPU ms per 1k ops (main thread)` : ''),
);
console.log('\n| part | share of busy CPU | ms |\n|---|---:|---:|');
for (const [part, us] of [...partUs].filter(([p]) => p !== 'startup (module loading)').sort((a, b) => b[1] - a[1])) {
  console.log(`| ${part} | ${pct(us)} % | ${(us / 1e3).toFixed(0)} |`);
}
console.log(`\nTop ${values.top} functions by self time:\n`);
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`  ${pct(us)} %  ${key}`);
}
