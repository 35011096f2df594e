/** `cairn user add|delete|get|list|passwd|grant-role|revoke-role`, as etcdctl's. */
import { Option, type Command } from 'commander';
import type { UserGetResponse, UserListResponse } from './sdk.js';
import { authCall, withClient } from './client.js';
import { CliError, usageError } from './errors.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { parseBool, promptHidden, readPasswordFromStdin, splitUser } from './password-input.js';

const NO_TERMINAL = 'give NAME:PASSWORD, or --interactive=false with the password on stdin';

interface PasswordFlags extends ClientFlags {
  interactive: boolean;
}

/**
 * The new password of a user: given inline (NAME:PASSWORD), else asked twice on the
 * terminal, else (--interactive=false) the first line of stdin.
 */
async function newPassword(name: string, inline: string | undefined, flags: PasswordFlags): Promise<string> {
  if (inline !== undefined) return inline;
  if (!flags.interactive) return readPasswordFromStdin();
  const first = await promptHidden(`Password of ${name}: `, NO_TERMINAL);
  const again = await promptHidden(`Type password of ${name} again for confirmation: `, NO_TERMINAL);
  if (first !== again) throw new CliError('the two passwords differ');
  if (first === '') throw new CliError('the password is empty');
  return first;
}

function interactiveOption(): Option {
  return new Option('--interactive <bool>', 'ask for the password on the terminal; false reads it from stdin')
    .argParser(parseBool)
    .default(true);
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('manage users (authentication)');

  addClientOptions(
    user
      .command('add')
      .description('add a user; without :PASSWORD the password is asked for')
      .argument('<name[:password]>', 'user name, optionally with its password')
      .addOption(interactiveOption()),
  ).action(async (spec: string, flags: PasswordFlags) => {
    const { name, password } = splitUser(spec);
    if (name === '') throw usageError('the user name must not be empty');
    const pw = await newPassword(name, password, flags);
    const response = await withClient(flags, (c) => authCall(c, (a) => a.userAdd.bind(a), { name, password: pw }));
    render(flags.output, response, () => writeLine(`User ${name} created`));
  });

  addClientOptions(user.command('delete').description('delete a user').argument('<name>', 'user name')).action(
    async (name: string, flags: ClientFlags) => {
      const response = await withClient(flags, (c) => authCall(c, (a) => a.userDelete.bind(a), { name }));
      render(flags.output, response, () => writeLine(`User ${name} deleted`));
    },
  );

  addClientOptions(user.command('get').description("print a user's roles").argument('<name>', 'user name')).action(
    async (name: string, flags: ClientFlags) => {
      const response: UserGetResponse = await withClient(flags, (c) => authCall(c, (a) => a.userGet.bind(a), { name }));
      render(flags.output, response, (r) => {
        writeLine(`User: ${name}`);
        writeLine(`Roles: ${r.roles.join(' ')}`);
      });
    },
  );

  addClientOptions(user.command('list').description('list every user')).action(async (flags: ClientFlags) => {
    const response: UserListResponse = await withClient(flags, (c) => authCall(c, (a) => a.userList.bind(a), {}));
    render(flags.output, response, (r) => r.users.forEach((u) => writeLine(u)));
  });

  addClientOptions(
    user
      .command('passwd')
      .description("change a user's password (asked for, or read from stdin with --interactive=false)")
      .argument('<name>', 'user name')
      .addOption(interactiveOption()),
  ).action(async (name: string, flags: PasswordFlags) => {
    const password = await newPassword(name, undefined, flags);
    const response = await withClient(flags, (c) => authCall(c, (a) => a.userChangePassword.bind(a), { name, password }));
    render(flags.output, response, () => writeLine('Password updated'));
  });

  addClientOptions(
    user.command('grant-role').description('give a user a role').argument('<user>', 'user name').argument('<role>', 'role name'),
  ).action(async (name: string, role: string, flags: ClientFlags) => {
    const response = await withClient(flags, (c) => authCall(c, (a) => a.userGrantRole.bind(a), { user: name, role }));
    render(flags.output, response, () => writeLine(`Role ${role} is granted to user ${name}`));
  });

  addClientOptions(
    user.command('revoke-role').description('take a role from a user').argument('<user>', 'user name').argument('<role>', 'role name'),
  ).action(async (name: string, role: string, flags: ClientFlags) => {
    const response = await withClient(flags, (c) => authCall(c, (a) => a.userRevokeRole.bind(a), { name, role }));
    render(flags.output, response, () => writeLine(`Role ${role} is revoked from user ${name}`));
  });
}
