// user, role and auth commands through the real `cairn` binary against a real node, in
// the README's order: create root and a role, enable auth, then act as users.
import test from 'ava';
import { runCli, spawnCli, startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

let node: NodeProcess;
test.before(async () => {
  node = await startNodeProcess();
});
test.after.always(async () => {
  await node?.cleanup();
});

async function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  return runCli([...args, '--endpoints', node.address], options);
}

async function ok(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await cli(args, options);
  if (r.code !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test.serial('users, roles, enable, and acting as a user with --user, CAIRN_USER/CAIRN_PASSWORD', async (t) => {
  t.is(await ok(['user', 'add', 'root:root-pw']), 'User root created\n');
  t.is(await ok(['user', 'grant-role', 'root', 'root']), 'Role root is granted to user root\n');
  t.is(await ok(['role', 'add', 'app']), 'Role app created\n');
  t.is(await ok(['role', 'grant-permission', 'app', 'readwrite', 'app/', '--prefix']), 'Role app updated\n');
  t.is(await ok(['role', 'grant-permission', 'app', 'read', 'config/db']), 'Role app updated\n');
  t.is(await ok(['role', 'grant-permission', 'app', 'write', 'logs/a', 'logs/m']), 'Role app updated\n');
  // The password of a new user from stdin, as scripts do.
  t.is(await ok(['user', 'add', 'alice', '--interactive=false'], { input: 'alice-pw\n' }), 'User alice created\n');
  t.is(await ok(['user', 'grant-role', 'alice', 'app']), 'Role app is granted to user alice\n');
  t.is(await ok(['auth', 'enable']), 'Authentication Enabled\n');

  // Without credentials: refused, with a clear message.
  const anonymous = await cli(['put', 'app/x', '1']);
  t.is(anonymous.code, 1);
  t.regex(anonymous.stderr, /UNAUTHENTICATED: authentication is enabled/);

  t.is(await ok(['put', 'app/x', '1', '--user', 'alice:alice-pw']), 'OK\n');
  t.is(await ok(['get', 'app/x', '--user', 'alice:alice-pw']), 'app/x\n1\n');
  t.is(await ok(['get', 'app/x'], { env: { CAIRN_USER: 'alice', CAIRN_PASSWORD: 'alice-pw' } }), 'app/x\n1\n');
  t.is(await ok(['--user', 'alice', '--password', 'alice-pw', 'get', 'app/x']), 'app/x\n1\n');
  const denied = await cli(['get', 'config/', '--prefix', '--user', 'alice:alice-pw']);
  t.is(denied.code, 1);
  t.regex(denied.stderr, /PERMISSION_DENIED: permission denied for user "alice": no read permission on range/);
  const wrong = await cli(['get', 'app/x', '--user', 'alice:nope']);
  t.regex(wrong.stderr, /UNAUTHENTICATED: authentication failed/);
  // No password and no terminal: the CLI says how to give one rather than hang.
  const noPassword = await cli(['get', 'app/x', '--user', 'alice']);
  t.is(noPassword.code, 1);
  t.regex(noPassword.stderr, /no terminal to ask it on/);

  const root = ['--user', 'root:root-pw'];
  t.is(await ok(['user', 'list', ...root]), 'alice\nroot\n');
  t.is(await ok(['user', 'get', 'alice', ...root]), 'User: alice\nRoles: app\n');
  t.is(await ok(['role', 'list', ...root]), 'app\nroot\n');
  t.is(
    await ok(['role', 'get', 'app', ...root]),
    'Role app\nKV Read:\n\t[app/, app0)\n\tconfig/db\nKV Write:\n\t[app/, app0)\n\t[logs/a, logs/m)\n',
  );
  t.regex(await ok(['auth', 'status', ...root]), /^Authentication Status: true\nAuthRevision: \d+\n$/);
  t.is((await cli(['user', 'list', '--user', 'alice:alice-pw'])).code, 1, 'user management is root-only');

  // A watch on the granted prefix works; it follows the user's token.
  const watch = spawnCli(['watch', 'app/', '--prefix', '--user', 'alice:alice-pw', '--endpoints', node.address]);
  let watched = '';
  watch.stdout!.setEncoding('utf8').on('data', (c: string) => (watched += c));
  const sawEvent = new Promise<void>((resolve) => watch.stdout!.on('data', () => watched.includes('app/y') && resolve()));
  // Written until the watch (created asynchronously) reports it: ordered by the event, not a sleep.
  for (let i = 0; !watched.includes('app/y') && i < 600; i++) {
    await ok(['put', 'app/y', String(i), '--user', 'alice:alice-pw']);
    await Promise.race([sawEvent, new Promise((r) => setTimeout(r, 100))]);
  }
  watch.kill('SIGINT');
  t.regex(watched, /PUT\napp\/y\n/);

  t.is(await ok(['user', 'passwd', 'alice', '--interactive=false', ...root], { input: 'new-pw\n' }), 'Password updated\n');
  t.is((await cli(['get', 'app/x', '--user', 'alice:alice-pw'])).code, 1);
  t.is(await ok(['get', 'app/x', '--user', 'alice:new-pw']), 'app/x\n1\n');
  t.is(
    await ok(['role', 'revoke-permission', 'app', 'app/', '--prefix', ...root]),
    'Permission of range [app/, app0) is revoked from role app\n',
  );
  t.is((await cli(['get', 'app/x', '--user', 'alice:new-pw'])).code, 1);
  t.is(await ok(['role', 'revoke-permission', 'app', 'config/db', ...root]), 'Permission of key config/db is revoked from role app\n');
  t.is(await ok(['user', 'revoke-role', 'alice', 'app', ...root]), 'Role app is revoked from user alice\n');
  t.is(await ok(['role', 'delete', 'app', ...root]), 'Role app deleted\n');
  t.is(await ok(['user', 'delete', 'alice', ...root]), 'User alice deleted\n');
  const rootDelete = await cli(['user', 'delete', 'root', ...root]);
  t.regex(rootDelete.stderr, /FAILED_PRECONDITION: the root user cannot be deleted while authentication is enabled/);
  t.is(await ok(['auth', 'disable', ...root]), 'Authentication Disabled\n');
  t.regex(await ok(['auth', 'status']), /^Authentication Status: false\n/);
  t.is(await ok(['get', 'app/x']), 'app/x\n1\n');
});

test.serial('bad usage: an unknown permission type, --interactive with a non-boolean, an empty user name', async (t) => {
  const badType = await cli(['role', 'grant-permission', 'r', 'readonly', 'k']);
  t.is(badType.code, 2);
  t.regex(badType.stderr, /permission type must be read, write or readwrite/);
  const badBool = await cli(['user', 'add', 'x', '--interactive=maybe']);
  t.is(badBool.code, 2);
  const emptyName = await cli(['user', 'add', ':pw']);
  t.is(emptyName.code, 2);
});
