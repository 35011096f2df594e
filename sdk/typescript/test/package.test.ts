/**
 * The SDK as a user gets it: `npm pack` (which builds it), a fresh project in a temp dir,
 * `npm install <tarball>`, and the README's quickstart run as main.mjs with plain `node`
 * (no tsx, nothing from this repository on the path) against a real member. A TypeScript
 * file in that project is type-checked against the shipped declarations, too.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startNodeProcess } from '../../../test/helpers/node-process.js';

const SDK_DIR = join(REPO_ROOT, 'sdk/typescript');
const exec = promisify(execFile);

/** Runs a command; on failure the error names it and carries its output. */
async function run(cwd: string, command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** The README's quickstart: its one ```js block. */
async function readmeQuickstart(): Promise<string> {
  const readme = await readFile(join(SDK_DIR, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (blocks.length !== 1) throw new Error(`README.md has ${blocks.length} js blocks; the quickstart is the one`);
  return blocks[0]!;
}

test('the README quickstart is examples/quickstart.mjs, verbatim', async (t) => {
  t.is(await readmeQuickstart(), await readFile(join(SDK_DIR, 'examples/quickstart.mjs'), 'utf8'));
});

test('npm pack → npm install in a fresh project → the README quickstart runs with plain node', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'cairn-sdk-package-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  // The member starts while the package is built and installed.
  const memberStarting = startNodeProcess();
  t.teardown(async () => (await memberStarting).cleanup());

  const packed = JSON.parse(await run(SDK_DIR, 'npm', ['pack', '--json', '--pack-destination', work])) as [
    { filename: string; version: string; files: { path: string }[] },
  ];
  const { filename, version, files } = packed[0];
  const cairnVersion = (await readFile(join(REPO_ROOT, 'VERSION'), 'utf8')).trim();
  t.is(version, cairnVersion, 'the package takes its version from VERSION');
  const rootVersion = (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  t.is(rootVersion, cairnVersion, "the root package.json (cairn --version) says VERSION's version");
  const paths = files.map((f) => f.path);
  t.true(paths.includes('dist/src/index.js') && paths.includes('dist/src/index.d.ts'), paths.join(' '));
  t.true(paths.includes('dist/gen/cairn/v1/kv.js'), 'the generated code ships inside the package');
  t.false(
    paths.some((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')),
    'no TypeScript sources: node cannot run them from node_modules',
  );

  const app = join(work, 'app');
  await mkdir(app);
  await run(app, 'npm', ['init', '-y']);
  await run(app, 'npm', ['pkg', 'set', 'type=module']);
  // --prefer-offline: the dependencies come from npm's cache when it has them.
  await run(app, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, filename)]);
  await writeFile(join(app, 'main.mjs'), await readmeQuickstart());
  // A TypeScript user's view: revisions are bigint in the shipped declarations.
  await writeFile(
    join(app, 'typed.ts'),
    [
      "import { CairnClient, type PutResult } from '@cairn/client';",
      'const client = new CairnClient();',
      'const put: PutResult = await client.put("k", "v");',
      'const revision: bigint = put.revision;',
      'const lease: bigint | undefined = (await client.get("k"))?.lease;',
      'console.log(revision, lease);',
      '',
    ].join('\n'),
  );
  const tsc = createRequire(join(REPO_ROOT, 'package.json')).resolve('typescript/bin/tsc');
  // Started now, awaited after the quickstart ran; '' when it passes, else tsc's complaint.
  const typecheck = run(app, process.execPath, [
    tsc,
    '--noEmit',
    '--strict',
    '--target',
    'ES2022',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--skipLibCheck',
    'typed.ts',
  ]).then(
    () => '',
    (err: Error) => err.message,
  );

  const member = await memberStarting;
  const stdout = await run(app, process.execPath, ['main.mjs'], { CAIRN_ENDPOINTS: member.address });
  t.regex(stdout, /^greeting=hello version=1 rev=\d+\nstale=hello bounded=hello\nswapped=true\n/);
  t.regex(stdout, /watch rev=\+0 put quickstart\/greeting=hello\nwatch rev=\+1 put quickstart\/greeting=hello again\n/);
  t.regex(
    stdout,
    /config image=web:1 replicas=2\nconfig update replicas=2\nconfig update replicas=3\nerror INVALID_ARGUMENT ERROR_CODE_EMPTY_KEY\n$/,
  );
  t.is(await typecheck, '', 'typed.ts type-checks against the package');
});
