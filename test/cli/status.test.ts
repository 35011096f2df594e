// `cairn status` against a real three-member cluster with one member stopped, and the
// endpoint checks every client command makes before dialing.
import test from 'ava';
import { startClusterProcesses } from '../helpers/cluster-process.js';
import { runCli } from '../helpers/node-process.js';

test('status with a member down: "unreachable" in its ROLE column, the reason under the table', async (t) => {
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  const leader = await cluster.waitForLeader();
  const down = cluster.members.find((m) => m.name !== leader)!;
  await down.process.stop();
  const live = cluster.endpoints.filter((e) => e !== down.address).join(',');
  const r = await runCli(['status', '--endpoints', live]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  const header = lines[0]!;
  const roleColumn = header.indexOf('ROLE');
  const row = lines.find((l) => l.startsWith(`${down.name} `))!;
  t.is(row.slice(roleColumn).trimEnd(), 'unreachable', 'the row holds no error text');
  t.is(lines.length, 5, r.stdout);
  t.regex(lines[4]!, new RegExp(`^${down.name} is unreachable: UNAVAILABLE: ${down.address.replaceAll('.', '\\.')}: connection failed$`));
  for (const m of cluster.members.filter((m) => m !== down)) {
    t.regex(
      lines.find((l) => l.startsWith(`${m.name} `))!,
      /\s(leader|follower)\s/,
    );
  }
  const json = JSON.parse((await runCli(['status', '-o', 'json', '--endpoints', live])).stdout) as {
    members: { name: string; error?: string }[];
  };
  t.regex(json.members.find((m) => m.name === down.name)!.error!, /^UNAVAILABLE: /);
});

test('endpoints must be host:port: a port alone or a URL is a usage error; [::1]:port is accepted', async (t) => {
  for (const [endpoint, message] of [
    ['7001', /invalid endpoint '7001' in --endpoints: a port alone is not an endpoint; did you mean 127\.0\.0\.1:7001\?/],
    ['http://127.0.0.1:7001', /give host:port without a scheme \(127\.0\.0\.1:7001\)/],
    ['127.0.0.1', /expected host:port/],
    ['127.0.0.1:70000', /port 70000 is not between 1 and 65535/],
    ['[::g]:1', /::g is not an IPv6 address/],
    ['1.2.3:4', /1\.2\.3 is not an IPv4 address/],
  ] as const) {
    const r = await runCli(['get', 'k', '--endpoints', endpoint]);
    t.is(r.code, 2, endpoint);
    t.regex(r.stderr, message);
  }
  // Accepted, so it is dialed: nothing listens on port 1, hence UNAVAILABLE (exit 1), not a usage error.
  const v6 = await runCli(['get', 'k', '--endpoints', '[::1]:1', '--command-timeout', '1s']);
  t.is(v6.code, 1);
  t.regex(v6.stderr, /UNAVAILABLE: no endpoint answered \(\[::1\]:1: connection failed\)/);
});

test('--version prints the version in package.json', async (t) => {
  const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
  const r = await runCli(['--version']);
  t.is(r.code, 0);
  t.is(r.stdout, `cairn ${version}\n`);
});
