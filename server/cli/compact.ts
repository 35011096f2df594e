/** `cairn compact <revision>`: discards history before a revision. */
import type { Command } from 'commander';
import { CompactRequest } from '../../gen/ts/cairn/v1/kv.js';
import { withClient } from './client.js';
import { addClientOptions, positiveInt, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';

interface CompactFlags extends ClientFlags {
  physical?: boolean;
}

export function registerCompact(program: Command): void {
  const cmd = program
    .command('compact')
    .description('discard the history before <revision>; older reads and watches fail afterwards')
    .argument('<revision>', 'first revision to keep', positiveInt)
    .option('--physical', 'wait until the discarded data is removed from storage');
  addClientOptions(cmd).action(async (revision: number, flags: CompactFlags) => {
    const request = CompactRequest.fromPartial({ revision, physical: flags.physical === true });
    const response = await withClient(flags, (client) => client.compact(request));
    render(flags.output, response, () => writeLine(`compacted revision ${revision}`));
  });
}
