/** `cairn del <key> [range_end]`: deletes a key, a range or a prefix. */
import type { Command } from 'commander';
import { withClient } from './client.js';
import { keyRange, selector } from './keys.js';
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
    const range = selector(keyRange(key, rangeEnd, flags));
    const r = await withClient(flags, (client) => client.delete(range, { prevKv: flags.prevKv === true }));
    render(flags.output, { header: r.header, deleted: r.deleted, prevKvs: r.prevKvs }, () => {
      writeLine(String(r.deleted));
      for (const kv of r.prevKvs) printKv(kv, flags.hex);
    });
  });
}
