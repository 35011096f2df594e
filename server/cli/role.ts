/** `cairn role add|delete|get|list|grant-permission|revoke-permission`, as etcdctl's. */
import type { Command } from 'commander';
import { Permission_Type, type Permission, type RoleGetResponse, type RoleListResponse } from './sdk.js';
import { authCall, withClient } from './client.js';
import { usageError } from './errors.js';
import { keyRange, type RangeFlags } from './keys.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';

interface PermissionFlags extends ClientFlags, RangeFlags {}

const TYPES: Record<string, Permission_Type> = {
  read: Permission_Type.TYPE_READ,
  write: Permission_Type.TYPE_WRITE,
  readwrite: Permission_Type.TYPE_READWRITE,
};

/** etcdctl's way of naming what a permission covers. */
export function describeRange(key: Buffer, rangeEnd: Buffer): string {
  if (rangeEnd.length === 0) return key.toString('utf8');
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return `[${key.toString('utf8')}, <open ended>`;
  return `[${key.toString('utf8')}, ${rangeEnd.toString('utf8')})`;
}

function printPermissions(title: string, perms: Permission[]): void {
  writeLine(title);
  for (const p of perms) writeLine(`\t${describeRange(p.key, p.rangeEnd)}`);
}

function withRangeOptions(cmd: Command): Command {
  return cmd
    .option('--prefix', 'the permission covers every key that starts with <key>')
    .option('--from-key', 'the permission covers every key >= <key>');
}

export function registerRole(program: Command): void {
  const role = program.command('role').description('manage roles and their permissions (authorization)');

  addClientOptions(role.command('add').description('add a role').argument('<name>', 'role name')).action(
    async (name: string, flags: ClientFlags) => {
      const response = await withClient(flags, (c) => authCall(c, (a) => a.roleAdd.bind(a), { name }));
      render(flags.output, response, () => writeLine(`Role ${name} created`));
    },
  );

  addClientOptions(
    role.command('delete').description('delete a role (and take it from every user)').argument('<name>', 'role name'),
  ).action(async (name: string, flags: ClientFlags) => {
    const response = await withClient(flags, (c) => authCall(c, (a) => a.roleDelete.bind(a), { role: name }));
    render(flags.output, response, () => writeLine(`Role ${name} deleted`));
  });

  addClientOptions(role.command('get').description("print a role's permissions").argument('<name>', 'role name')).action(
    async (name: string, flags: ClientFlags) => {
      const response: RoleGetResponse = await withClient(flags, (c) => authCall(c, (a) => a.roleGet.bind(a), { role: name }));
      render(flags.output, response, (r) => {
        writeLine(`Role ${name}`);
        const reads = r.perm.filter((p) => p.type === Permission_Type.TYPE_READ || p.type === Permission_Type.TYPE_READWRITE);
        const writes = r.perm.filter((p) => p.type === Permission_Type.TYPE_WRITE || p.type === Permission_Type.TYPE_READWRITE);
        printPermissions('KV Read:', reads);
        printPermissions('KV Write:', writes);
      });
    },
  );

  addClientOptions(role.command('list').description('list every role')).action(async (flags: ClientFlags) => {
    const response: RoleListResponse = await withClient(flags, (c) => authCall(c, (a) => a.roleList.bind(a), {}));
    render(flags.output, response, (r) => r.roles.forEach((name) => writeLine(name)));
  });

  addClientOptions(
    withRangeOptions(
      role
        .command('grant-permission')
        .description('let a role read, write or both on a key, a [key, range_end) range or a prefix')
        .argument('<name>', 'role name')
        .argument('<type>', 'read, write or readwrite')
        .argument('<key>', 'the key, or first key of the range or prefix')
        .argument('[range_end]', 'exclusive end of the range'),
    ),
  ).action(async (name: string, typeName: string, key: string, rangeEnd: string | undefined, flags: PermissionFlags) => {
    const type = TYPES[typeName];
    if (type === undefined) throw usageError(`permission type must be read, write or readwrite, not ${typeName}`);
    const perm = { type, ...keyRange(key, rangeEnd, flags) };
    const response = await withClient(flags, (c) => authCall(c, (a) => a.roleGrantPermission.bind(a), { name, perm }));
    render(flags.output, response, () => writeLine(`Role ${name} updated`));
  });

  addClientOptions(
    withRangeOptions(
      role
        .command('revoke-permission')
        .description('remove the permission a role holds on exactly this key, range or prefix')
        .argument('<name>', 'role name')
        .argument('<key>', 'the key, or first key of the range or prefix')
        .argument('[range_end]', 'exclusive end of the range'),
    ),
  ).action(async (name: string, key: string, rangeEnd: string | undefined, flags: PermissionFlags) => {
    const range = keyRange(key, rangeEnd, flags);
    const response = await withClient(flags, (c) => authCall(c, (a) => a.roleRevokePermission.bind(a), { role: name, ...range }));
    const what = range.rangeEnd.length === 0 ? `key ${key}` : `range ${describeRange(range.key, range.rangeEnd)}`;
    render(flags.output, response, () => writeLine(`Permission of ${what} is revoked from role ${name}`));
  });
}
