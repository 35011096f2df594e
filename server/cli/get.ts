/** `cairn get <key> [range_end]`: reads a key, a range or a prefix. */
import { Option, type Command } from 'commander';
import { RangeRequest, RangeRequest_SortOrder, RangeRequest_SortTarget } from '../../gen/ts/cairn/v1/kv.js';
import { withClient } from './client.js';
import { keyRange } from './keys.js';
import { addClientOptions, durationMs, nonNegativeInt, positiveInt, type ClientFlags } from './options.js';
import { printKv, render, writeLine } from './output.js';

const SORT_TARGETS = {
  key: RangeRequest_SortTarget.SORT_TARGET_KEY,
  version: RangeRequest_SortTarget.SORT_TARGET_VERSION,
  create: RangeRequest_SortTarget.SORT_TARGET_CREATE,
  modify: RangeRequest_SortTarget.SORT_TARGET_MOD,
  value: RangeRequest_SortTarget.SORT_TARGET_VALUE,
} as const;

const SORT_ORDERS = {
  ascend: RangeRequest_SortOrder.SORT_ORDER_ASCEND,
  descend: RangeRequest_SortOrder.SORT_ORDER_DESCEND,
} as const;

interface GetFlags extends ClientFlags {
  prefix?: boolean;
  fromKey?: boolean;
  rev: number;
  limit: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  sortBy?: keyof typeof SORT_TARGETS;
  order?: keyof typeof SORT_ORDERS;
  serializable?: boolean;
  maxStaleness?: number;
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
    .addOption(new Option('--order <order>', 'sort order').choices(Object.keys(SORT_ORDERS)))
    .option('--serializable', 'serve from the local member without a quorum round (may be stale)')
    .addOption(
      new Option(
        '--max-staleness <duration>',
        'with --serializable: serve locally only if the member is this close to the leader, else linearizably',
      ).argParser(durationMs),
    );
  addClientOptions(cmd).action(async (key: string, rangeEnd: string | undefined, flags: GetFlags) => {
    const request = RangeRequest.fromPartial({
      ...keyRange(key, rangeEnd, flags),
      revision: flags.rev,
      limit: flags.limit ?? 0,
      keysOnly: flags.keysOnly === true,
      countOnly: flags.countOnly === true,
      serializable: flags.serializable === true,
      maxStalenessMs: flags.maxStaleness ?? 0,
      // As etcdctl: a sort field alone sorts ascending, an order alone sorts by key.
      sortTarget: flags.sortBy || flags.order ? SORT_TARGETS[flags.sortBy ?? 'key'] : RangeRequest_SortTarget.SORT_TARGET_UNSPECIFIED,
      sortOrder: flags.sortBy || flags.order ? SORT_ORDERS[flags.order ?? 'ascend'] : RangeRequest_SortOrder.SORT_ORDER_UNSPECIFIED,
    });
    const response = await withClient(flags, (client) => client.range(request));
    render(flags.output, response, (r) => {
      if (flags.countOnly) writeLine(String(r.count));
      else for (const kv of r.kvs) printKv(kv, flags.keysOnly);
    });
  });
}
