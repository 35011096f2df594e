#!/usr/bin/env node
// Import hygiene, run by `npm test` before the tests:
//  1. no circular imports among the .ts files under server/ and sdk/. Type-only imports
//     (`import type`, `export type`) are erased at compile time and cannot cause
//     initialisation-order bugs, so they do not count; dynamic import() does not either.
//  2. server/raft/ stays pure: its files import only server/raft/ and gen/ (types
//     included), no node builtins and no packages, so it can be tested deterministically.
// Exit 1 listing every violation. No dependencies: a regex scan is enough for our style.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOTS = ['server', 'sdk'].map((d) => join(root, d)).filter((d) => existsSync(d));
const RAFT = join(root, 'server', 'raft') + sep;
const GEN = join(root, 'gen') + sep;
const BUILTINS = new Set(builtinModules);

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

// Static imports and re-exports, with the `type` keyword captured; side-effect imports;
// dynamic imports.
const STATIC_RE = /\b(import|export)\s+(type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC_RE = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function parseImports(file) {
  const src = stripComments(readFileSync(file, 'utf8'));
  const imports = [];
  for (const m of src.matchAll(STATIC_RE)) imports.push({ spec: m[3], typeOnly: Boolean(m[2]), dynamic: false });
  for (const m of src.matchAll(DYNAMIC_RE)) imports.push({ spec: m[1], typeOnly: false, dynamic: true });
  return imports;
}

// `./x.js` is how a relative import of x.ts is written under NodeNext.
function resolveRelative(from, spec) {
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? base;
}

const files = ROOTS.flatMap(listTs);
const graph = new Map();
const problems = [];
const rel = (p) => relative(root, p);

for (const file of files) {
  const edges = [];
  for (const { spec, typeOnly, dynamic } of parseImports(file)) {
    const isRelative = spec.startsWith('.');
    const target = isRelative ? resolveRelative(file, spec) : undefined;
    if (file.startsWith(RAFT)) {
      const bare = spec.replace(/^node:/, '').split('/')[0];
      if (spec.startsWith('node:') || BUILTINS.has(bare) || BUILTINS.has(spec)) {
        problems.push(`${rel(file)}: server/raft/ must not import the node builtin '${spec}'`);
      } else if (!target) {
        problems.push(`${rel(file)}: server/raft/ must not import the package '${spec}'`);
      } else if (!target.startsWith(RAFT) && !target.startsWith(GEN)) {
        problems.push(`${rel(file)}: server/raft/ must not import '${spec}' (${rel(target)}), outside server/raft/ and gen/`);
      }
    }
    if (target && !typeOnly && !dynamic && files.includes(target)) edges.push(target);
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
console.log(`check-imports: ${files.length} files, no cycles, server/raft/ is self-contained`);
