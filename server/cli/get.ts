/** `cairn get <key> [range_end]`: reads a key, a range or a prefix. */
import { Option, type Command } from 'commander';
import { withClient } from './client.js';
import { keyRange, selector } from './keys.js';
import { addClientOptions, durationMs, nonNegativeInt, positiveInt, type ClientFlags } from './options.js';
import { printKv, render, writeLine } from './output.js';
import type { ReadOptions } from './sdk.js';

/** The CLI's (etcdctl's) names of the sort targets, and the SDK's. */
const SORT_TARGETS = { key: 'key', version: 'version', create: 'create', modify: 'mod', value: 'value' } as const;
const SORT_ORDERS = ['ascend', 'descend'] as const;

interface GetFlags extends ClientFlags {
  prefix?: boolean;
  fromKey?: boolean;
  rev: number;
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  sortBy?: keyof typeof SORT_TARGETS;
  order?: (typeof SORT_ORDERS)[number];
  serializable?: boolean;
  maxStaleness?: number;
}

function readOptions(flags: GetFlags): ReadOptions {
  const options: ReadOptions = {
    revision: flags.rev,
    limit: flags.limit ?? 0,
    keysOnly: flags.keysOnly === true,
    countOnly: flags.countOnly === true,
  };
  if (flags.serializable === true) options.consistency = 'stale';
  if (flags.maxStaleness !== undefined) options.maxStalenessMs = flags.maxStaleness;
  // As etcdctl: a sort field alone sorts ascending, an order alone sorts by key.
  if (flags.sortBy !== undefined || flags.order !== undefined) {
    options.sortBy = SORT_TARGETS[flags.sortBy ?? 'key'];
    options.sortOrder = flags.order ?? 'ascend';
  }
  return options;
}

export function registerGet(program: Command): void {
  const cmd = program
    .command('get')
    .description('read a key, the keys in [key, range_end), or a prefix; prints key and value lines')
    .argument('<key>', 'key, or first key of the range')
    .argument('[range_end]', 'exclusive end of the range')
    .option('--prefix', 'read every key that starts with <key>')
    .option('--from-key', 'read every key >= <key>')
    .addOption(new Option('--rev <revision>', 'read at this revision (0: latest)').argParser(nonNegativeInt).default(0))
    .addOption(new Option('--limit <n>', 'return at most n keys').argParser(positiveInt))
    .option('--keys-only', 'print keys without values')
    .option('--count-only', 'print only the number of keys')
    .addOption(new Option('--sort-by <target>', 'sort by this field').choices(Object.keys(SORT_TARGETS)))
    .addOption(new Option('--order <order>', 'sort order').choices(SORT_ORDERS))
    .option('--serializable', 'serve from the local member without a quorum round (may be stale)')
    .addOption(
      new Option(
        '--max-staleness <duration>',
        'with --serializable: serve locally only if the member is this close to the leader, else linearizably',
      ).argParser(durationMs),
    );
  addClientOptions(cmd).action(async (key: string, rangeEnd: string | undefined, flags: GetFlags) => {
    const range = selector(keyRange(key, rangeEnd, flags));
    const r = await withClient(flags, (client) => client.range(range, readOptions(flags)));
    render(flags.output, { header: r.header, kvs: r.kvs, count: r.count, more: r.more }, () => {
      if (flags.countOnly) writeLine(String(r.count));
      else for (const kv of r.kvs) printKv(kv, flags.hex, flags.keysOnly);
    });
  });
}
