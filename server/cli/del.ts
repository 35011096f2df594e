/** `cairn del <key> [range_end]`: deletes a key, a range or a prefix. */
import type { Command } from 'commander';
import { DeleteRangeRequest } from '../../gen/ts/cairn/v1/kv.js';
import { withClient } from './client.js';
import { keyRange } from './keys.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { printKv, render, writeLine } from './output.js';

interface DelFlags extends ClientFlags {
  prefix?: boolean;
  fromKey?: boolean;
  prevKv?: boolean;
}

export function registerDel(program: Command): void {
  const cmd = program
    .command('del')
    .description('delete a key, the keys in [key, range_end), or a prefix; prints the number deleted')
    .argument('<key>', 'key, or first key of the range')
    .argument('[range_end]', 'exclusive end of the range')
    .option('--prefix', 'delete every key that starts with <key>')
    .option('--from-key', 'delete every key >= <key>')
    .option('--prev-kv', 'also print the deleted key-values');
  addClientOptions(cmd).action(async (key: string, rangeEnd: string | undefined, flags: DelFlags) => {
    const request = DeleteRangeRequest.fromPartial({ ...keyRange(key, rangeEnd, flags), prevKv: flags.prevKv === true });
    const response = await withClient(flags, (client) => client.deleteRange(request));
    render(flags.output, response, (r) => {
      writeLine(String(r.deleted));
      for (const kv of r.prevKvs) printKv(kv);
    });
  });
}
