#!/usr/bin/env node
/**
 * `npm test`: every step in order, each run even when an earlier one failed, so that one
 * failing suite never hides the others:
 *
 *   build        tsc -p .
 *   imports      scripts/check-imports.mjs
 *   generated    scripts/check-generated.sh (generated code matches the protos)
 *   grpcurl      scripts/ensure-grpcurl.sh (installs it when missing)
 *   obs-deps     scripts/install-observability-deps.sh (the real Prometheus and Jaeger the
 *                observability tests run; installs them when missing)
 *   etcd-tools   scripts/install-etcd-tools.sh (the real etcd and etcdctl 3.7.3, built from the Go
 *                module proxy, and Debian's etcdctl 3.4 the etcd-compatibility tests run;
 *                installs them when missing)
 *   lint-ts      npm run lint (ESLint + Prettier --check)
 *   lint-python  sdk/python/lint.sh (ruff check + ruff format --check)
 *   lint-go      gofmt -l on every tracked Go file + go vet in every Go module
 *   ava          the TypeScript tests (test/, sdk/typescript/test)
 *   python       the Python SDK's tests (sdk/python/run-tests.sh: mypy, pytest)
 *   go           the Go SDK's tests (sdk/go/run-tests.sh: go vet, go test)
 *   etcd-go      etcd's Go client (clientv3, concurrency) against a real etcd and Cairn
 *                (test/etcd-compat/clientv3/run-tests.sh: go vet, go test)
 *   loadgen      the benchmark load generator's smoke test (bench/loadgen/run-tests.sh: every
 *                workload for about a second against a real member; not a benchmark)
 *   deploy       the deployment files (deploy/validate/run-tests.sh: Kubernetes manifests decoded
 *                strictly and cross-checked, systemd unit verified (systemd-analyze), Dockerfile parsed)
 *
 * Each step's output streams through as it runs; then a table of the steps, and last one
 * line `N passed, N failed[, N skipped]` counting the tests of ava, pytest and go test,
 * where each check step (build, lint, ...) counts as one test, and a suite that failed
 * without naming a failed test (it did not build, crashed or timed out) counts as one
 * failed. Exits 1 if anything failed.
 *
 *   node scripts/run-tests.mjs                 # everything
 *   node scripts/run-tests.mjs ava go          # only these steps, in the usual order
 *   node scripts/run-tests.mjs --list          # the step names
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const scratch = mkdtempSync(join(tmpdir(), 'cairn-npm-test-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** Runs a command with its output passed through; resolves to its exit code and output. */
function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (stream, sink) =>
      stream.on('data', (chunk) => {
        const text = chunk.toString();
        output += text;
        if (!options.quiet) (options.filter ? options.filter(text) : [text]).forEach((t) => sink.write(t));
      });
    take(child.stdout, process.stdout);
    take(child.stderr, process.stderr);
    child.on('error', (err) => {
      output += String(err);
      process.stderr.write(`${command}: ${err.message}\n`);
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

/** A step of one command that either passes or fails: counts as one test. */
const check =
  (command, ...args) =>
  async () => {
    const { code } = await run(command, args);
    return { ok: code === 0, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, note: code === 0 ? '' : `exit ${code}` };
  };

/** Directories of the repository's Go modules (those with a tracked go.mod). */
async function goModules() {
  const { output } = await run('git', ['ls-files', 'go.mod', '*/go.mod'], { quiet: true });
  return output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((f) => dirname(f));
}

/** gofmt -l must list no tracked Go file, and go vet must pass in every Go module. */
async function lintGo() {
  const problems = [];
  const files = (await run('git', ['ls-files', '*.go'], { quiet: true })).output.split('\n').filter((l) => l.trim() !== '');
  const fmt = await run('gofmt', ['-l', ...files]);
  if (fmt.code !== 0 || fmt.output.trim() !== '')
    problems.push(`gofmt -l lists: ${fmt.output.trim().split('\n').join(' ') || `exit ${fmt.code}`}`);
  for (const dir of await goModules()) {
    const vet = await run('go', ['vet', './...'], { cwd: join(ROOT, dir) });
    if (vet.code !== 0) problems.push(`go vet in ${dir} (exit ${vet.code})`);
  }
  const ok = problems.length === 0;
  return { ok, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, note: problems.join('; ') };
}

/**
 * ava with its default reporter (per-test lines with durations, logs, failures). Counts
 * come from the per-test lines: "✔ ..." passed, "✘ ..." failed (tests, hooks, crashed
 * files, a timeout), "- [skip] ..." / "- [todo] ..." skipped.
 */
async function ava() {
  const { code, output } = await run('npx', ['ava']);
  const lines = output.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim()); // eslint-disable-line no-control-regex
  const passed = lines.filter((l) => l.startsWith('✔')).length;
  let failed = lines.filter((l) => l.startsWith('✘')).length;
  const skipped = lines.filter((l) => /^- \[(skip|todo)\]/.test(l)).length;
  if (code !== 0 && failed === 0) failed = 1;
  return { ok: code === 0 && failed === 0, passed, failed, skipped, note: code !== 0 ? `exit ${code}` : '' };
}

/** The Python SDK's tests (mypy first); counts from pytest's JUnit XML. */
async function pytest() {
  const xml = join(scratch, 'pytest.xml');
  const { code } = await run('bash', ['sdk/python/run-tests.sh', '-q', `--junitxml=${xml}`]);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  if (existsSync(xml)) {
    for (const suite of readFileSync(xml, 'utf8').matchAll(/<testsuite\b([^>]*)>/g)) {
      const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite[1])?.[1] ?? 0);
      const bad = attr('failures') + attr('errors');
      passed += attr('tests') - bad - attr('skipped');
      failed += bad;
      skipped += attr('skipped');
    }
  }
  if (code !== 0 && failed === 0) failed = 1;
  return { ok: code === 0, passed, failed, skipped, note: code !== 0 ? `exit ${code}` : '' };
}

/**
 * Go tests with `go test -json`, through a run-tests.sh that vets first and passes its
 * arguments to go test; prints package results and the output of failed tests rather than
 * the raw JSON.
 */
const goTest = (script) => async () => {
  const results = new Map(); // "pkg/Test" -> pass | fail | skip
  const packageFailed = new Set();
  const outputs = new Map();
  let pending = '';
  const filter = (text) => {
    const shown = [];
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        shown.push(`${line}\n`);
        continue;
      }
      const key = e.Test ? `${e.Package}/${e.Test}` : e.Package;
      if (e.Action === 'output') outputs.set(key, (outputs.get(key) ?? '') + e.Output);
      if (!['pass', 'fail', 'skip'].includes(e.Action)) continue;
      if (e.Test) {
        results.set(key, e.Action);
        if (e.Action === 'fail') shown.push(`--- FAIL ${key}\n${outputs.get(key) ?? ''}`);
      } else {
        if (e.Action === 'fail') {
          packageFailed.add(e.Package);
          shown.push(outputs.get(key) ?? '');
        }
        shown.push(
          `${e.Action === 'fail' ? 'FAIL' : e.Action === 'skip' ? '?   ' : 'ok  '} ${e.Package}${e.Elapsed ? ` ${e.Elapsed}s` : ''}\n`,
        );
      }
    }
    return shown;
  };
  const { code } = await run('bash', [script, '-json'], { filter });
  const count = (action) => [...results.values()].filter((a) => a === action).length;
  let failed = count('fail');
  if (failed === 0) failed = packageFailed.size;
  if (code !== 0 && failed === 0) failed = 1;
  return { ok: code === 0, passed: count('pass'), failed, skipped: count('skip'), note: code !== 0 ? `exit ${code}` : '' };
};

const STEPS = [
  ['build', check('npx', 'tsc', '-p', '.')],
  ['imports', check('node', 'scripts/check-imports.mjs')],
  ['generated', check('bash', 'scripts/check-generated.sh')],
  ['grpcurl', check('bash', 'scripts/ensure-grpcurl.sh')],
  ['obs-deps', check('bash', 'scripts/install-observability-deps.sh')],
  ['etcd-tools', check('bash', 'scripts/install-etcd-tools.sh')],
  ['lint-ts', check('npm', 'run', '--silent', 'lint')],
  ['lint-python', check('bash', 'sdk/python/lint.sh')],
  ['lint-go', lintGo],
  ['ava', ava],
  ['python', pytest],
  ['go', goTest('sdk/go/run-tests.sh')],
  ['etcd-go', goTest('test/etcd-compat/clientv3/run-tests.sh')],
  ['loadgen', goTest('bench/loadgen/run-tests.sh')],
  ['deploy', goTest('deploy/validate/run-tests.sh')],
];

const args = process.argv.slice(2);
if (args.includes('--list')) {
  console.log(STEPS.map(([name]) => name).join('\n'));
  process.exit(0);
}
const unknown = args.filter((a) => !STEPS.some(([name]) => name === a));
if (unknown.length > 0) {
  console.error(`unknown step(s): ${unknown.join(', ')}; steps: ${STEPS.map(([n]) => n).join(', ')}`);
  process.exit(2);
}
const selected = args.length === 0 ? STEPS : STEPS.filter(([name]) => args.includes(name));

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const started = Date.now();
const rows = [];
for (const [name, step] of selected) {
  console.log(`\n==> ${name}`);
  const t0 = Date.now();
  let result;
  try {
    result = await step();
  } catch (err) {
    console.error(err);
    result = { ok: false, passed: 0, failed: 1, skipped: 0, note: String(err) };
  }
  const ms = Date.now() - t0;
  rows.push({ name, ms, ...result });
  const counts = `${result.passed} passed, ${result.failed} failed${result.skipped > 0 ? `, ${result.skipped} skipped` : ''}`;
  console.log(`<== ${name}: ${result.ok ? 'ok' : 'FAILED'} (${counts}) in ${seconds(ms)}${result.note ? `: ${result.note}` : ''}`);
}

const total = { passed: 0, failed: 0, skipped: 0 };
console.log('\nstep            result   passed  failed  skipped      time');
for (const r of rows) {
  total.passed += r.passed;
  total.failed += r.failed;
  total.skipped += r.skipped;
  console.log(
    `${r.name.padEnd(15)} ${(r.ok ? 'ok' : 'FAILED').padEnd(6)} ${String(r.passed).padStart(8)} ${String(r.failed).padStart(7)} ${String(r.skipped).padStart(8)} ${seconds(r.ms).padStart(9)}${r.note ? `  ${r.note}` : ''}`,
  );
}
console.log(`total ${seconds(Date.now() - started)}`);
const failedSteps = rows.filter((r) => !r.ok).map((r) => r.name);
if (failedSteps.length > 0) console.log(`failed: ${failedSteps.join(', ')}`);
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped > 0 ? `, ${total.skipped} skipped` : ''}`);
process.exitCode = failedSteps.length > 0 || total.failed > 0 ? 1 : 0;
