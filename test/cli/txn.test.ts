// `cairn txn` read from stdin, in etcdctl's syntax.
import test from 'ava';
import { runCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

let node: NodeProcess;
test.before(async () => {
  node = await startNodeProcess();
});
test.after.always(async () => {
  await node?.cleanup();
});

const txn = (script: string, ...flags: string[]) => runCli(['txn', '--endpoints', node.address, ...flags], { input: script });
/** The parts of `txn -o json` output these tests read. */
type TxnJson = { succeeded: boolean; responses: unknown[] };

test('success branch runs when every compare holds', async (t) => {
  await runCli(['put', 'txn1/k', 'v1', '--endpoints', node.address]);
  const r = await txn('mod("txn1/k") > "0"\nval("txn1/k") = "v1"\n\nput txn1/k v2\nget txn1/k\n\nput txn1/k failed\n\n');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'SUCCESS\n\nOK\n\ntxn1/k\nv2\n');
});

test('failure branch runs when a compare fails, with quoted arguments', async (t) => {
  await runCli(['put', 'txn2/k', 'v1', '--endpoints', node.address]);
  await runCli(['put', 'txn2/other', 'x', '--endpoints', node.address]);
  const script = 'ver("txn2/k") > "5"\n\nput txn2/k nope\n\nput txn2/k "two words"\nget --prefix txn2/\ndel --prev-kv txn2/other\n';
  const r = await txn(script);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'FAILURE\n\nOK\n\ntxn2/k\ntwo words\ntxn2/other\nx\n\n1\ntxn2/other\nx\n');
});

test('create("k") = "0" guards creation; -o json reports the branch', async (t) => {
  const script = 'create("txn3/k") = "0"\n\nput txn3/k first\n\n';
  const first = await txn(script, '-o', 'json');
  t.is(first.code, 0, first.stderr);
  t.true((JSON.parse(first.stdout) as TxnJson).succeeded);
  const second = JSON.parse((await txn(script, '-o', 'json')).stdout) as TxnJson;
  t.false(second.succeeded);
  t.deepEqual(second.responses, []);
});

test('a syntax error is a usage error', async (t) => {
  const r = await txn('mod("k") >> "1"\n\n\n');
  t.is(r.code, 2);
  t.regex(r.stderr, /^Error: invalid compare/m);
  const bad = await txn('\nfrobnicate k\n\n');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /unknown operation 'frobnicate'/);
});

test('a script that is not valid UTF-8 is refused, not run with U+FFFD in its keys', async (t) => {
  const r = await runCli(['txn', '--endpoints', node.address], { input: Buffer.from('\n\nput txn4/\xff v\n\n', 'latin1') });
  t.is(r.code, 2);
  t.regex(r.stderr, /the transaction on stdin is not valid UTF-8/);
  t.is((await runCli(['get', 'txn4/', '--prefix', '--count-only', '--endpoints', node.address])).stdout, '0\n');
});
