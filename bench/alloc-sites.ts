/**
 * Turns an allocation profile of a Cairn member (bench/alloc-sampler.mjs, through
 * bench/profile-member.sh --alloc-profile) into bytes allocated per request: by the function
 * that allocated (self), by part (grpc-js, protobuf, each directory of server/), and by the
 * innermost Cairn function on the stack (what Cairn's own code caused, grpc-js and protobuf
 * calls included).
 *
 *   npx tsx bench/alloc-sites.ts PROFILE.heapprofile --ops N [--top N]
 *
 * V8 scales each sample to an estimate of all the bytes allocated like it, so the totals are
 * estimates of everything allocated in the window, garbage included.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface HeapNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ops: { type: 'string' }, top: { type: 'string', default: '20' } },
});
const [file] = positionals;
if (file === undefined || values.ops === undefined) {
  console.error('usage: alloc-sites.ts PROFILE.heapprofile --ops N [--top N]');
  process.exit(2);
}
const ops = Number(values.ops);
const top = Number(values.top);
const root = (JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }).head;

const shortUrl = (url: string): string => url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/').replace(/^node:/, 'node:');
const site = (frame: CallFrame): string => `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
const isCairn = (url: string): boolean => /\/dist\/(server|gen)\//.test(url);

/**
 * The part that allocated: the innermost frame of a known library or Cairn directory (Node's
 * own JavaScript and V8's builtins are charged to whoever called them, as in profile-shares.ts).
 */
const partOf = (url: string): string | undefined => {
  if (url.includes('/@grpc/') || url.startsWith('node:internal/http2')) return 'grpc-js / http2';
  if (url.includes('/@bufbuild/protobuf/')) return 'protobuf (gen/, @bufbuild/protobuf)';
  if (url.includes('/prom-client/')) return 'metrics (prom-client)';
  if (url.includes('/@opentelemetry/')) return 'tracing (@opentelemetry/api)';
  if (url.includes('/sorted-btree/')) return 'key index (sorted-btree)';
  if (/\/(abstract-level|@nxtedition|classic-level|level-transcoder)/.test(url)) return 'engine bindings';
  if (url.includes('/node_modules/')) return 'other libraries';
  const cairn = /\/dist\/(gen|server\/[^/]+)\//.exec(url);
  if (cairn !== null) return cairn[1] === 'gen' ? 'protobuf (gen/, @bufbuild/protobuf)' : cairn[1]!;
  return undefined;
};

const bySelf = new Map<string, number>();
const byPart = new Map<string, number>();
const byCairn = new Map<string, number>();
let total = 0;
const add = (map: Map<string, number>, key: string, bytes: number): void => {
  map.set(key, (map.get(key) ?? 0) + bytes);
};
const walk = (node: HeapNode, cairnFrame: string, part: string): void => {
  const here = isCairn(node.callFrame.url) ? site(node.callFrame) : cairnFrame;
  const owner = partOf(node.callFrame.url) ?? part;
  if (node.selfSize > 0) {
    total += node.selfSize;
    add(bySelf, site(node.callFrame), node.selfSize);
    add(byCairn, here, node.selfSize);
    add(byPart, owner, node.selfSize);
  }
  for (const child of node.children) walk(child, here, owner);
};
walk(root, '(no Cairn frame)', 'Node core, no caller known');

const print = (title: string, map: Map<string, number>): void => {
  console.log(`\n${title}`);
  console.log('| bytes per request | share | site |\n|--:|--:|---|');
  for (const [key, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| ${Math.round(bytes / ops)} | ${((100 * bytes) / total).toFixed(1)} % | \`${key}\` |`);
  }
};
console.log(`${Math.round(total / ops)} bytes allocated per request (${ops} requests, ${(total / 2 ** 20).toFixed(1)} MiB)`);
print('By part (innermost known frame)', byPart);
print('By allocating function (self)', bySelf);
print('By innermost Cairn function on the stack', byCairn);
