/** `cairn auth enable|disable|status`, as etcdctl's. */
import type { Command } from 'commander';
import type { AuthStatusResponse } from './sdk.js';
import { authCall, withClient } from './client.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';

export function registerAuth(program: Command): void {
  const auth = program.command('auth').description('turn authentication on or off');

  addClientOptions(auth.command('enable').description('turn authentication on (the root user, with the root role, must exist)')).action(
    async (flags: ClientFlags) => {
      const response = await withClient(flags, (c) => authCall(c, (a) => a.authEnable.bind(a), {}));
      render(flags.output, response, () => writeLine('Authentication Enabled'));
    },
  );

  addClientOptions(auth.command('disable').description('turn authentication off (root only)')).action(async (flags: ClientFlags) => {
    const response = await withClient(flags, (c) => authCall(c, (a) => a.authDisable.bind(a), {}));
    render(flags.output, response, () => writeLine('Authentication Disabled'));
  });

  addClientOptions(auth.command('status').description('tell whether authentication is on')).action(async (flags: ClientFlags) => {
    const response: AuthStatusResponse = await withClient(flags, (c) => authCall(c, (a) => a.authStatus.bind(a), {}));
    render(flags.output, response, (r) => {
      writeLine(`Authentication Status: ${r.enabled}`);
      writeLine(`AuthRevision: ${r.authRevision}`);
    });
  });
}
