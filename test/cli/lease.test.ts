// `cairn lease ...` and `cairn put --lease` through the real binary against a real node:
// etcdctl's output shapes, hex ids, keep-alive, revoke deleting the attached keys, errors.
import test from 'ava';
import { runCli, spawnCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

let node: NodeProcess;
test.before(async () => {
  node = await startNodeProcess();
});
test.after.always(async () => {
  await node?.cleanup();
});

async function run(args: string[]) {
  return runCli([...args, '--endpoints', node.address]);
}

async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  if (r.code !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function grant(ttl: number): Promise<string> {
  const out = JSON.parse(await ok(['lease', 'grant', String(ttl), '-o', 'json'])) as { id: string; ttl: number };
  return out.id;
}

test('lease grant prints the id in hex as etcdctl does; -o json gives the hex id and the TTL', async (t) => {
  t.regex(await ok(['lease', 'grant', '60']), /^lease [0-9a-f]{16} granted with TTL\(60s\)\n$/);
  t.regex(await ok(['lease', 'grant', '1']), /^lease [0-9a-f]{16} granted with TTL\(2s\)\n$/, 'raised to the minimum TTL');
  const json = JSON.parse(await ok(['lease', 'grant', '45', '-o', 'json'])) as Record<string, unknown>;
  t.deepEqual(Object.keys(json).sort(), ['id', 'ttl']);
  t.regex(json.id as string, /^[0-9a-f]{16}$/);
  t.is(json.ttl, 45);
});

test('put --lease attaches a key; timetolive --keys lists it; revoke deletes it', async (t) => {
  const id = await grant(100);
  t.is(await ok(['put', 'cli/svc', 'up', '--lease', id]), 'OK\n');
  t.regex(await ok(['lease', 'timetolive', id]), new RegExp(`^lease ${id} granted with TTL\\(100s\\), remaining\\(\\d+s\\)\\n$`));
  t.regex(
    await ok(['lease', 'timetolive', id, '--keys']),
    new RegExp(`^lease ${id} granted with TTL\\(100s\\), remaining\\(\\d+s\\), attached keys\\(\\[cli/svc\\]\\)\\n$`),
  );
  const list = await ok(['lease', 'list']);
  t.regex(list, /^found \d+ leases\n/);
  t.true(list.split('\n').includes(id));
  t.is(await ok(['lease', 'revoke', id]), `lease ${id} revoked\n`);
  t.is(await ok(['get', 'cli/svc']), '');
  t.is(await ok(['lease', 'timetolive', id]), `lease ${id} already expired\n`);
  const again = await run(['lease', 'revoke', id]);
  t.is(again.code, 1);
  t.regex(again.stderr, /NOT_FOUND: lease \d+ not found/);
});

test('lease keep-alive renews until interrupted; --once renews once; a gone lease ends it', async (t) => {
  const id = await grant(9);
  t.is(await ok(['lease', 'keep-alive', id, '--once']), `lease ${id} keepalived with TTL(9)\n`);

  const child = spawnCli(['lease', 'keep-alive', id, '--endpoints', node.address]);
  let out = '';
  const renewals = (): number => out.split('\n').filter((l) => l === `lease ${id} keepalived with TTL(9)`).length;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      // Four renewals a TTL/3 apart: the lease outlived its 9 s TTL only by being renewed.
      if (renewals() >= 4) resolve();
    });
    child.on('exit', (code) => reject(new Error(`keep-alive exited ${code}: ${out}`)));
  });
  t.regex(await ok(['lease', 'timetolive', id]), /remaining\(\d+s\)/);
  child.removeAllListeners('exit');
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  t.is(await exited, 0);

  await ok(['lease', 'revoke', id]);
  t.is(await ok(['lease', 'keep-alive', id]), `lease ${id} expired or revoked.\n`);
});

test('bad lease ids are usage errors; unknown ones are NOT_FOUND', async (t) => {
  const bad = await run(['put', 'k', 'v', '--lease', 'zz']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /'zz' is not a lease id/);
  t.is((await run(['lease', 'revoke', '0'])).code, 2);
  const unknown = await run(['put', 'k', 'v', '--lease', 'abc']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /NOT_FOUND: lease 2748 not found/);
});
