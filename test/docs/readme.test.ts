// The README's ```console sessions, run top to bottom against a fresh one-member node: each
// `$ ` command must print what the README shows (placeholders for ids and timings, see
// test/helpers/console-blocks.ts). Blocks that cannot run here (servers, several
// terminals, clusters) are ```sh, not ```console.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { consoleBlocks, matchOutput, substitute } from '../helpers/console-blocks.js';
import { CAIRN_BIN, REPO_ROOT, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

const run = promisify(execFile);

/** The READMEs whose console blocks are sessions against a node: the project's, then the SDKs'. */
const READMES = [
  'README.md',
  ...readdirSync(path.join(REPO_ROOT, 'sdk'))
    .map((d) => path.join('sdk', d, 'README.md'))
    .filter((f) => existsSync(path.join(REPO_ROOT, f))),
];

let node: NodeProcess;
let cwd: string;
let env: NodeJS.ProcessEnv;

test.before(async () => {
  node = await startNodeProcess();
  cwd = await mkdtemp(path.join(tmpdir(), 'cairn-readme-'));
  const gopath = await run('go', ['env', 'GOPATH']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAIRN_')));
  // The README uses the default endpoint; the node of this test listens on a free port.
  env = { ...inherited, CAIRN_ENDPOINTS: node.address, PATH: `${process.env['PATH'] ?? ''}:${path.join(gopath, 'bin')}` };
});

test.after.always(async () => {
  await node?.cleanup();
  if (cwd !== undefined) await rm(cwd, { recursive: true, force: true });
});

/** The command as run here: the built CLI instead of npx, this test's node instead of the default address. */
function localCommand(command: string): string {
  return command.replaceAll('npx cairn', `${process.execPath} ${CAIRN_BIN}`).replaceAll('127.0.0.1:7379', node.address);
}

const bound = new Map<string, string>();

for (const readme of READMES) {
  for (const block of consoleBlocks(readFileSync(path.join(REPO_ROOT, readme), 'utf8'))) {
    test.serial(`${readme}:${block.line}`, async (t) => {
      // export and unset carry over to the block's later commands, as in one terminal.
      const prelude: string[] = [];
      for (const { line, command, expected } of block.commands) {
        const script = `${prelude.join('\n')}\n{ ${localCommand(substitute(command, bound))}\n} 2>&1`;
        const r = await run('sh', ['-c', script], { cwd, env, maxBuffer: 16 << 20 }).then(
          (ok) => ok.stdout,
          (failed: { stdout?: string }) => failed.stdout ?? '',
        );
        const problem = matchOutput(expected, r, bound);
        if (problem !== undefined) return t.fail(`${readme}:${line}: $ ${command}\n${problem}`);
        if (/^(export|unset) /.test(command)) prelude.push(localCommand(command));
      }
      t.pass();
    });
  }
}
