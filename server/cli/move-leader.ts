/** `cairn move-leader <member>`: hands leadership to another member (by name or id). */
import { withClient } from './client.js';
import type { Command } from 'commander';
import { MaintenanceServiceClient, type MoveLeaderResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { usageError } from './errors.js';
import { addClientOptions, parseEndpoints, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { call, memberList } from './status.js';
import { clientCredentials } from './tls.js';

export function registerMoveLeader(program: Command): void {
  const cmd = program
    .command('move-leader')
    .description('hand leadership to another member, given by name or id; answers once it leads')
    .argument('<member>', 'name or id of the member that should lead');
  addClientOptions(cmd).action(async (wanted: string, flags: ClientFlags) => {
    const endpoints = parseEndpoints(flags.endpoints);
    const creds = clientCredentials(flags);
    const list = await memberList(endpoints, flags.commandTimeout, creds);
    const target = list.members.find((m) => m.name === wanted || String(m.id) === wanted);
    if (target === undefined)
      throw usageError(`no member named or numbered ${wanted}; members: ${list.members.map((m) => m.name).join(', ')}`);
    // MoveLeader needs the root role once authentication is on.
    const metadata = await withClient(flags, (c) => c.callMetadata());
    const client = new MaintenanceServiceClient(endpoints[0]!, creds);
    try {
      const response = await call<MoveLeaderResponse>((cb) =>
        client.moveLeader({ targetId: target.id }, metadata, { deadline: Date.now() + flags.commandTimeout }, cb),
      );
      render(flags.output, response, () => writeLine(`leadership moved to ${target.name} (${target.id})`));
    } finally {
      client.close();
    }
  });
}
