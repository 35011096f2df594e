// put/get/del/compact through the real `cairn` binary against a real node.
import test from 'ava';
import { runCli, runCliInShell, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

let node: NodeProcess;
test.before(async () => {
  node = await startNodeProcess();
});
test.after.always(async () => {
  await node?.cleanup();
});

/** Runs a client command against the node and expects success. */
async function ok(args: string[], input?: string | Buffer): Promise<string> {
  const r = await runCli([...args, '--endpoints', node.address], input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Puts a key and returns the revision the put created. */
async function put(key: string, value: string): Promise<number> {
  const out = JSON.parse(await ok(['put', key, value, '-o', 'json'])) as { header: { revision: number } };
  return out.header.revision;
}

const lines = (s: string): string[] => s.split('\n').slice(0, -1);

test('put prints OK and get prints key and value lines', async (t) => {
  t.is(await ok(['put', 'pg/a', 'hello world']), 'OK\n');
  t.is(await ok(['get', 'pg/a']), 'pg/a\nhello world\n');
  t.is(await ok(['get', 'pg/missing']), '');
});

test('put reads the value from stdin, byte for byte', async (t) => {
  t.is(await ok(['put', 'stdin/a'], 'line 1\nline 2\n'), 'OK\n');
  t.is(await ok(['get', 'stdin/a']), 'stdin/a\nline 1\nline 2\n\n');
});

test('put --prev-kv prints the previous key-value', async (t) => {
  await put('prev/a', 'v1');
  t.deepEqual(lines(await ok(['put', 'prev/a', 'v2', '--prev-kv'])), ['OK', 'prev/a', 'v1']);
});

test('get --prefix, range_end, --from-key, --limit, --keys-only, --count-only', async (t) => {
  for (const k of ['a', 'b', 'c']) await put(`pre/${k}`, `v${k}`);
  await put('pre0', 'outside');
  t.deepEqual(lines(await ok(['get', 'pre/', '--prefix'])), ['pre/a', 'va', 'pre/b', 'vb', 'pre/c', 'vc']);
  t.deepEqual(lines(await ok(['get', 'pre/a', 'pre/c'])), ['pre/a', 'va', 'pre/b', 'vb']);
  t.deepEqual(lines(await ok(['get', 'pre/b', '--from-key', '--keys-only'])).slice(0, 3), ['pre/b', 'pre/c', 'pre0']);
  t.deepEqual(lines(await ok(['get', 'pre/', '--prefix', '--limit', '2', '--keys-only'])), ['pre/a', 'pre/b']);
  t.deepEqual(lines(await ok(['get', 'pre/', '--prefix', '--count-only'])), ['3']);
});

test('get --sort-by and --order', async (t) => {
  await put('sort/a', '3');
  await put('sort/b', '1');
  await put('sort/c', '2');
  await put('sort/b', '4');
  const keys = async (...flags: string[]): Promise<string[]> => lines(await ok(['get', 'sort/', '--prefix', '--keys-only', ...flags]));
  t.deepEqual(await keys('--order', 'descend'), ['sort/c', 'sort/b', 'sort/a']);
  t.deepEqual(await keys('--sort-by', 'value'), ['sort/c', 'sort/a', 'sort/b']);
  t.deepEqual(await keys('--sort-by', 'modify', '--order', 'descend'), ['sort/b', 'sort/c', 'sort/a']);
  // sort/b is the only key at version 2; the order of ties is unspecified.
  t.is((await keys('--sort-by', 'version', '--order', 'descend'))[0], 'sort/b');
  t.deepEqual(await keys('--sort-by', 'create'), ['sort/a', 'sort/b', 'sort/c']);
});

test('get --rev reads an older version; --serializable reads too', async (t) => {
  const r1 = await put('rev/a', 'old');
  await put('rev/a', 'new');
  t.is(await ok(['get', 'rev/a', '--rev', String(r1)]), 'rev/a\nold\n');
  t.is(await ok(['get', 'rev/a', '--serializable']), 'rev/a\nnew\n');
});

/** A key or value as -o json gives it: base64 of its bytes, as etcdctl. */
const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

test('-o json prints one object with keys and values base64-encoded, as etcdctl', async (t) => {
  const rev = await put('json/ключ', 'värde ✓');
  const out = JSON.parse(await ok(['get', 'json/', '--prefix', '-o', 'json'])) as {
    count: number;
    kvs: object[];
    header: { revision: number };
  };
  t.is(out.count, 1);
  t.like(out.kvs[0], { key: b64('json/ключ'), value: b64('värde ✓'), modRevision: rev, createRevision: rev, version: 1 });
  t.true(out.header.revision >= rev);
});

test('binary values survive: raw bytes in simple output, base64 in JSON, hex with --hex', async (t) => {
  // Every byte value, most of them not UTF-8: the bytes a lossy text decoding would mangle.
  const value = Buffer.from(Array.from({ length: 4104 }, (_, i) => (i * 7) % 256));
  t.is(await ok(['put', 'bin/v'], value), 'OK\n');
  const raw = await runCli(['get', 'bin/v', '--endpoints', node.address]);
  t.deepEqual(raw.stdoutBytes, Buffer.concat([Buffer.from('bin/v\n'), value, Buffer.from('\n')]));
  const json = JSON.parse(await ok(['get', 'bin/v', '-o', 'json'])) as { kvs: { value: string }[] };
  t.true(Buffer.from(json.kvs[0]!.value, 'base64').equals(value));
  t.is(
    await ok(['get', Buffer.from('bin/v').toString('hex'), '--hex']),
    `${Buffer.from('bin/v').toString('hex')}\n${value.toString('hex')}\n`,
  );
});

test('--hex takes keys and values in hex', async (t) => {
  t.is(await ok(['put', '--hex', '6865782f00ff', 'c0ffee']), 'OK\n');
  t.is(await ok(['get', '--hex', '6865782f', '--prefix']), '6865782f00ff\nc0ffee\n');
  const bad = await runCli(['put', '--hex', 'xyz', 'v', '--endpoints', node.address]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /key 'xyz' is not hex/);
});

test('a key or value that is not valid UTF-8 on the command line is refused, not stored as U+FFFD', async (t) => {
  // "k" then the bytes ff fe, which no UTF-8 text has.
  const r = await runCliInShell(`put "$(printf 'k\\377\\376')" v --endpoints ${node.address}`);
  t.is(r.code, 2);
  t.regex(r.stderr, /the key is not valid UTF-8; .*--hex/);
  const v = await runCliInShell(`put utf8/k "$(printf 'v\\377')" --endpoints ${node.address}`);
  t.is(v.code, 2);
  t.regex(v.stderr, /the value is not valid UTF-8/);
  t.is(await ok(['get', 'utf8/k']), '');
  // A real U+FFFD typed as UTF-8 is a valid key.
  t.is(await ok(['put', 'utf8/\uFFFD', 'ok']), 'OK\n');
  t.is(await ok(['get', 'utf8/\uFFFD']), 'utf8/\uFFFD\nok\n');
});

test('del deletes a key, a prefix, and prints --prev-kv', async (t) => {
  await put('del/a', '1');
  await put('del/b', '2');
  await put('del/c', '3');
  t.is(await ok(['del', 'del/a']), '1\n');
  t.is(await ok(['del', 'del/a']), '0\n');
  t.deepEqual(lines(await ok(['del', 'del/', '--prefix', '--prev-kv'])), ['2', 'del/b', '2', 'del/c', '3']);
  t.is(await ok(['get', 'del/', '--prefix', '--count-only']), '0\n');
});

// Serial tests run before the others, so compaction cannot hide the history they read.
test.serial('compact makes older revisions unreadable', async (t) => {
  const r1 = await put('compact/a', 'v1');
  const r2 = await put('compact/a', 'v2');
  t.is(await ok(['compact', String(r2), '--physical']), `compacted revision ${r2}\n`);
  const r = await runCli(['get', 'compact/a', '--rev', String(r1), '--endpoints', node.address]);
  t.is(r.code, 1);
  t.regex(r.stderr, /^Error: [A-Z_]+: .*compacted/m);
  t.is(await ok(['get', 'compact/a', '--rev', String(r2)]), 'compact/a\nv2\n');
});

test('CAIRN_ENDPOINTS selects the node; the first unreachable endpoint is skipped', async (t) => {
  await put('env/a', 'x');
  const viaEnv = await runCli(['get', 'env/a'], { env: { CAIRN_ENDPOINTS: node.address } });
  t.is(viaEnv.stdout, 'env/a\nx\n');
  const failover = await runCli(['get', 'env/a'], {
    env: { CAIRN_ENDPOINTS: `127.0.0.1:1,${node.address}` },
  });
  t.is(failover.code, 0, failover.stderr);
  t.is(failover.stdout, 'env/a\nx\n');
});

test('client options are accepted before the command, as with etcdctl', async (t) => {
  await put('global/a', 'x');
  const r = await runCli(['--endpoints', node.address, '-o', 'json', 'get', 'global/a']);
  t.is(r.code, 0, r.stderr);
  t.is((JSON.parse(r.stdout) as { kvs: { value: string }[] }).kvs[0]!.value, Buffer.from('x').toString('base64'));
});

test('bench put and range report throughput and percentiles as JSON', async (t) => {
  for (const op of ['put', 'range']) {
    const out = JSON.parse(await ok(['bench', op, '--total', '300', '--clients', '8', '--connections', '2', '-o', 'json'])) as {
      opsPerSec: number;
      latencyMs: { p50: number; p99: number; max: number };
    };
    t.like(out, { op, requests: 300, errors: 0, clients: 8, connections: 2 });
    t.true(out.opsPerSec > 0);
    t.true(out.latencyMs.p50 <= out.latencyMs.p99 && out.latencyMs.p99 <= out.latencyMs.max);
  }
});
