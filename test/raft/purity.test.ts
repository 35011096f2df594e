import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const coreDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../server/raft');
const files = readdirSync(coreDir).filter((f) => f.endsWith('.ts'));

/** Strips comments and string contents so prose like "no Date" does not trip the scan. */
function code(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''");
}

test('the core imports nothing from outside server/raft/', (t) => {
  t.true(files.length >= 10);
  for (const f of files) {
    const src = readFileSync(join(coreDir, f), 'utf8');
    for (const m of src.matchAll(/from\s+'([^']+)'/g)) {
      const spec = m[1]!;
      t.true(spec.startsWith('./') && !spec.includes('/', 2), `${f} imports ${spec}`);
      t.true(spec.endsWith('.js'), `${f}: relative imports use .js suffixes (${spec})`);
    }
  }
});

test('the core is deterministic: no clocks, timers, randomness, process, I/O or await', (t) => {
  const forbidden = [
    /\bDate\b/,
    /Math\.random/,
    /\bset(Timeout|Interval|Immediate)\b/,
    /\bprocess\./,
    /\bawait\b/,
    /\basync\b/,
    /\brequire\(/,
    /\bperformance\./,
  ];
  for (const f of files) {
    const body = code(readFileSync(join(coreDir, f), 'utf8'));
    for (const re of forbidden) t.false(re.test(body), `${f} uses ${re}`);
  }
});
