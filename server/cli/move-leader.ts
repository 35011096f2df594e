/** `cairn move-leader <member>`: hands leadership to another member (by name or id). */
import type { Command } from 'commander';
import type { MoveLeaderResponse } from './sdk.js';
import { rawCall, withClient } from './client.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { findMember } from './status.js';

export function registerMoveLeader(program: Command): void {
  const cmd = program
    .command('move-leader')
    .description('hand leadership to another member, given by name or id; answers once it leads')
    .argument('<member>', 'name or id of the member that should lead');
  addClientOptions(cmd).action(async (wanted: string, flags: ClientFlags) => {
    await withClient(flags, async (client) => {
      const target = findMember(await client.members(), wanted);
      // MoveLeader needs the root role once authentication is on: the client sends --user's token.
      const response = await rawCall<MoveLeaderResponse>(client, 'write', (c, cb) =>
        c.member.maintenance.moveLeader({ targetId: target.id }, c.metadata, { deadline: c.deadline }, cb),
      );
      render(flags.output, response, () => writeLine(`leadership moved to ${target.name} (${target.id})`));
    });
  });
}
