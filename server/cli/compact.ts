/** `cairn compact <revision>`: discards history before a revision. */
import type { Command } from 'commander';
import { withClient } from './client.js';
import { addClientOptions, positiveInt, type ClientFlags } from './options.js';
import { formatRevision, render, writeLine } from './output.js';

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
    const header = await withClient(flags, (client) => client.compact(revision, { physical: flags.physical === true }));
    render(flags.output, { header }, () => writeLine(`compacted revision ${formatRevision(revision)}`));
  });
}
