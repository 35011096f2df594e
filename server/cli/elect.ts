/**
 * `cairn elect <name> <value>`: campaigns in election `name` (etcdctl's shape), prints the
 * leader's key and value once elected, and leads until interrupted (then resigns).
 * `cairn elect <name> --listen`: prints the key and value of each leader as it changes.
 * Both are the SDK's Election and observeLeader: keys `<name>/<lease id hex>`, as in etcd
 * and every SDK (docs/recipes.md).
 */
import { Option, type Command } from 'commander';
import { argBytes } from './bytes.js';
import { withClient } from './client.js';
import { usageError } from './errors.js';
import { holdUntil, interruptions } from './interruptions.js';
import { sessionLost } from './lock.js';
import { addClientOptions, positiveInt, type ClientFlags } from './options.js';
import { printJson, printKv } from './output.js';
import { Election, type CairnClient, type KeyValue } from './sdk.js';

interface ElectFlags extends ClientFlags {
  ttl: number;
  listen?: boolean;
}

function printLeader(kv: KeyValue, flags: ElectFlags): void {
  if (flags.output === 'json') printJson({ key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision });
  else printKv(kv, flags.hex);
}

async function campaign(client: CairnClient, name: string, value: Buffer, flags: ElectFlags): Promise<void> {
  const stop = interruptions();
  const session = await client.session({ ttl: flags.ttl });
  session.on('lost', () => stop.abort());
  const election = new Election(session, name);
  try {
    await election.campaign(value, { signal: stop.signal });
    const head = await election.leader();
    if (head !== undefined && head.createRevision === election.revision) printLeader(head, flags);
    await holdUntil(stop.signal);
    if (session.isLost) throw sessionLost(session);
    await election.resign();
  } catch (err) {
    if (session.isLost) throw sessionLost(session);
    if (stop.interrupted === undefined) throw err;
  } finally {
    await session.close();
  }
}

/** Prints each new leader (or new value) until interrupted; the SDK's watch survives member failures. */
async function listen(client: CairnClient, name: string, flags: ElectFlags): Promise<void> {
  const stop = interruptions();
  for await (const leader of client.observeLeader(name, { signal: stop.signal })) printLeader(leader, flags);
}

export function registerElect(program: Command): void {
  const cmd = program
    .command('elect')
    .description('campaign in election <name> with <value> and lead until interrupted, or --listen to print each leader')
    .argument('<name>', 'election name (keys <name>/<lease id hex>, as etcd and the SDKs)')
    .argument('[value]', 'the value to lead with')
    .option('-l, --listen', 'print the leader each time it changes, without campaigning')
    .addOption(new Option('--ttl <seconds>', 'session TTL: how long a dead leader keeps leading').argParser(positiveInt).default(60));
  addClientOptions(cmd).action(async (name: string, value: string | undefined, flags: ElectFlags) => {
    if (argBytes(name, false, 'election name').length === 0) throw usageError('the election name must not be empty');
    if ((value === undefined) === (flags.listen !== true)) throw usageError('give either a value to campaign with or --listen');
    await withClient(flags, (client) =>
      value === undefined ? listen(client, name, flags) : campaign(client, name, argBytes(value, flags.hex, 'value'), flags),
    );
  });
}
