/**
 * Bytes of JS heap the in-memory key index takes per key (issue 9): builds a KeyIndex of N
 * keys shaped like the benchmark's (`bench/` and ten digits), each put CHANGES times, and
 * prints the heap growth per key after a full GC.
 *   node --expose-gc --import tsx bench/key-index-memory.ts [N=200000] [CHANGES=1] [MODULE]
 * MODULE is another key-index.ts to measure instead (e.g. an older checkout's), for before/after.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const n = Number(process.argv[2] ?? 200_000);
const changes = Number(process.argv[3] ?? 1);
const modulePath = process.argv[4] ?? path.join(import.meta.dirname, '../server/mvcc/key-index.ts');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

interface Index {
  put(key: string, rev: { main: number; sub: number }): void;
  readonly size: number;
}
const { KeyIndex } = (await import(pathToFileURL(modulePath).href)) as { KeyIndex: new () => Index };
// The keys are built first so that only the index's own structures are counted (the key
// strings are shared with the index, as the member's decoded request keys are not: see below).
const keys = Array.from({ length: n }, (_, i) => `bench/${String(i).padStart(10, '0')}`);
gc();
const before = process.memoryUsage().heapUsed;
const index = new KeyIndex();
let revision = 2;
for (let c = 0; c < changes; c++) for (const key of keys) index.put(key, { main: revision++, sub: 0 });
gc();
const after = process.memoryUsage().heapUsed;
const keyBytes = 16 + Math.ceil((keys[0]!.length + 1) / 8) * 8;
console.log(
  `${index.size} keys, ${changes} change(s) each: ${((after - before) / n).toFixed(0)} bytes per key in the index, ` +
    `plus about ${keyBytes} for each key's string (${path.relative(process.cwd(), modulePath)})`,
);
