#!/usr/bin/env node
// Import hygiene, run by `npm test` before the tests. Layer order under server/, innermost first:
//   raft < common < node < transport < storage < mvcc < apply < api < main < cli
// A file imports only its own layer and inner ones. The consensus side is innermost and owns
// the contracts it needs (server/node/ports/: log persistence, peer sender, state machine,
// ticker), as hashicorp/raft owns LogStore/Transport/FSM. Storage, transport and apply sit
// outside it and implement those ports, so implementing one is an inward import, never an
// upward one; main.ts (with raft-member.ts) wires the concrete parts. See server/README.md.
//
// Rules (exit 1 listing every violation):
//  1. no circular imports among the .ts files under server/ and sdk/, type-only imports
//     (`import type`, `export type`) and dynamic import() included: a cycle of types is still
//     a cycle in the design.
//  2. direction: every file under server/ belongs to a layer in LAYERS and imports no file of
//     an outer layer (type-only and dynamic imports count: an upward `import type` is still an
//     upward arrow). transport, storage, mvcc and apply reach server/node/ only through
//     server/node/ports/, never the driver itself.
//  3. server/raft/ stays pure: its files import only server/raft/ and gen/ (types included),
//     no node builtins and no packages, so it can be tested deterministically. So do the ports.
//  4. server/ and sdk/ do not import each other, with one exception: the CLI is a client, built on
//     the TypeScript SDK, and reaches it through server/cli/sdk.ts alone (the SDK never imports server/).
// No dependencies: a regex scan is enough for our style.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOTS = ['server', 'sdk'].map((d) => join(root, d)).filter((d) => existsSync(d));
const SERVER = join(root, 'server') + sep;
const SDK = join(root, 'sdk') + sep;
const CLI_SDK_DOOR = join(root, 'server', 'cli', 'sdk.ts');
const TS_SDK = join(root, 'sdk', 'typescript', 'src') + sep;
// The SDK's own generated code (int64 as bigint): the wire types of the CLI's raw calls.
const TS_SDK_GEN = join(root, 'sdk', 'typescript', 'gen') + sep;
const GEN = join(root, 'gen') + sep;
const RAFT = join(root, 'server', 'raft') + sep;
const NODE = join(root, 'server', 'node') + sep;
const PORTS = join(root, 'server', 'node', 'ports') + sep;
const BUILTINS = new Set(builtinModules);

/** Innermost first. A path ending in '/' is a directory; otherwise a single file. */
const LAYERS = [
  { name: 'raft', paths: ['server/raft/'] },
  {
    name: 'common',
    paths: ['server/errors.ts', 'server/invariant.ts', 'server/config.ts', 'server/varint.ts', 'server/observability/', 'server/streams/'],
  },
  { name: 'node', paths: ['server/node/'] },
  { name: 'transport', paths: ['server/transport/'] },
  { name: 'storage', paths: ['server/storage/'] },
  { name: 'mvcc', paths: ['server/mvcc/'] },
  { name: 'apply', paths: ['server/apply/'] },
  { name: 'api', paths: ['server/api/'] },
  {
    name: 'main',
    paths: [
      'server/main.ts',
      'server/raft-member.ts',
      'server/node-identity.ts',
      'server/member-telemetry.ts',
      'server/corruption-check.ts',
      'server/hash-verdict.ts',
      'server/join-cluster.ts',
      'server/backup/',
      'server/member-removed.ts',
      'server/member-names.ts',
      'server/space-quota-monitor.ts',
      'server/remote-peer-finder.ts',
    ],
  },
  { name: 'cli', paths: ['server/cli/'] },
];
/** Layers that implement the node's ports: they may see server/node/ports/ only. */
const PORT_IMPLEMENTERS = new Set(['transport', 'storage', 'mvcc', 'apply']);

function layerOf(file) {
  const path = relative(root, file).split(sep).join('/');
  for (const [rank, layer] of LAYERS.entries()) {
    if (layer.paths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p))) return { rank, name: layer.name };
  }
  return undefined;
}

function listTs(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listTs(path));
    else if (/\.m?ts$/.test(name) && !/\.d\.m?ts$/.test(name)) out.push(path);
  }
  return out;
}

// Blank out comments and keep strings, so a commented-out import is not counted.
const stripComments = (src) => src.replace(/\/\*[\s\S]*?\*\/|([^\\:'"`]|^)\/\/.*$/gm, (m, pre) => pre ?? '');

// Static imports and re-exports (`type` or not); side-effect imports; dynamic imports.
const STATIC_RE = /\b(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC_RE = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function parseImports(file) {
  const src = stripComments(readFileSync(file, 'utf8'));
  return [...src.matchAll(STATIC_RE), ...src.matchAll(DYNAMIC_RE)].map((m) => m[1]);
}

// `./x.js` is how a relative import of x.ts is written under NodeNext.
function resolveRelative(from, spec) {
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? base;
}

const files = ROOTS.flatMap(listTs);
const known = new Set(files);
const graph = new Map();
const problems = [];
const rel = (p) => relative(root, p);

for (const file of files) {
  if (file.startsWith(SERVER) && layerOf(file) === undefined) {
    problems.push(`${rel(file)}: belongs to no layer; add it to LAYERS in scripts/check-imports.mjs`);
  }
}

for (const file of files) {
  const edges = [];
  const from = layerOf(file);
  for (const spec of parseImports(file)) {
    const target = spec.startsWith('.') ? resolveRelative(file, spec) : undefined;
    if (file.startsWith(RAFT) || file.startsWith(PORTS)) {
      const where = file.startsWith(RAFT) ? 'server/raft/' : 'server/node/ports/';
      const bare = spec.replace(/^node:/, '').split('/')[0];
      if (spec.startsWith('node:') || BUILTINS.has(bare) || BUILTINS.has(spec)) {
        problems.push(`${rel(file)}: ${where} must not import the node builtin '${spec}'`);
      } else if (!target) {
        problems.push(`${rel(file)}: ${where} must not import the package '${spec}'`);
      } else if (!target.startsWith(RAFT) && !target.startsWith(GEN) && !(file.startsWith(PORTS) && target.startsWith(PORTS))) {
        problems.push(`${rel(file)}: ${where} must not import '${spec}' (${rel(target)}), outside server/raft/ and gen/`);
      }
    }
    if (target === undefined) continue;
    const cliDoor = file === CLI_SDK_DOOR && (target.startsWith(TS_SDK) || target.startsWith(TS_SDK_GEN));
    if ((file.startsWith(SERVER) && target.startsWith(SDK) && !cliDoor) || (file.startsWith(SDK) && target.startsWith(SERVER))) {
      problems.push(
        `${rel(file)}: imports '${spec}' (${rel(target)}); server/ and sdk/ must not import each other (the CLI reaches the SDK through server/cli/sdk.ts)`,
      );
    }
    const to = target.startsWith(SERVER) ? layerOf(target) : undefined;
    if (from !== undefined && to !== undefined) {
      if (to.rank > from.rank) {
        problems.push(`upward import: ${rel(file)} (${from.name}) imports ${rel(target)} (${to.name})`);
      } else if (PORT_IMPLEMENTERS.has(from.name) && target.startsWith(NODE) && !target.startsWith(PORTS)) {
        problems.push(`${rel(file)} (${from.name}) imports ${rel(target)}: ${from.name} may use server/node/ports/ only`);
      }
    }
    if (known.has(target)) edges.push(target);
  }
  graph.set(file, edges);
}

// Depth-first search; a grey node met again closes a cycle, reported once per node set.
const state = new Map();
const stack = [];
const seenCycles = new Set();
function visit(file) {
  state.set(file, 'grey');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 'grey') {
      const cycle = stack.slice(stack.indexOf(next));
      const id = [...cycle].sort().join('|');
      if (!seenCycles.has(id)) {
        seenCycles.add(id);
        problems.push(`circular import: ${[...cycle, next].map(rel).join(' -> ')}`);
      }
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 'black');
}
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(
  `check-imports: ${files.length} files, no cycles (type-only imports included), ` +
    `imports point inward (${LAYERS.map((l) => l.name).join(' < ')}), server/raft/ and server/node/ports/ are self-contained`,
);
