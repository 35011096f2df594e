import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { runScenario } from './helpers/scenario-runner.js';

/*
 * Golden scenarios in test/raft/scenarios/*.txt. To (re)write the expected output after an
 * intended behaviour change, run with RAFT_SCENARIO_REWRITE=1 and review the diff.
 */
const dir = resolve(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const rewrite = process.env['RAFT_SCENARIO_REWRITE'] === '1';

for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort()) {
  test(`scenario ${file}`, (t) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const { actual, blocks } = runScenario(text);
    if (rewrite) {
      writeFileSync(path, actual);
      t.pass();
      return;
    }
    t.true(blocks.length > 0);
    for (const b of blocks) t.is(b.actual, b.expected, `${file}: ${b.cmd}`);
  });
}
