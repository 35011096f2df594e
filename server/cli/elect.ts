/**
 * `cairn elect <name> <value>`: campaigns in election `name` (etcdctl's shape), prints the
 * leader's key and value once elected, and leads until interrupted (then resigns).
 * `cairn elect <name> --listen`: prints the key and value of each leader as it changes.
 * Keys are `<name>/<lease id hex>`, as in etcd and the SDKs (docs/recipes.md).
 */
import { Option, type Command } from 'commander';
import type { Event, KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { Event_EventType } from '../../gen/ts/cairn/v1/types.js';
import { clientFromFlags, type CliClient } from './client.js';
import { CliSession } from './cli-session.js';
import { isServiceError, usageError } from './errors.js';
import { prefixEnd } from './keys.js';
import { enqueue, queueHead, queueKeys, removeKey, waitForTurn, watchFrom } from './lock-queue.js';
import { addClientOptions, positiveInt, type ClientFlags } from './options.js';
import { printJson, printKv } from './output.js';
import { holdUntil, interruptions } from './interruptions.js';

interface ElectFlags extends ClientFlags {
  ttl: number;
  listen?: boolean;
}

function printLeader(kv: KeyValue, flags: ElectFlags): void {
  if (flags.output === 'json') printJson({ key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision });
  else printKv(kv);
}

async function campaign(client: CliClient, name: string, value: string, flags: ElectFlags): Promise<void> {
  const stop = interruptions();
  const session = await CliSession.start(clientFromFlags(flags), flags.ttl, () => stop.abort());
  try {
    const place = await enqueue(client, name, session.leaseId, Buffer.from(value, 'utf8'));
    try {
      await waitForTurn(client, name, place, stop.signal);
      const { head } = await queueHead(client, name);
      if (head !== undefined && head.createRevision === place.revision) printLeader(head, flags);
      await holdUntil(stop.signal);
      if (session.lost) throw session.lost;
    } finally {
      if (!session.lost) await removeKey(client, place);
    }
  } catch (err) {
    if (session.lost) throw session.lost;
    if (stop.interrupted === undefined) throw err;
  } finally {
    await session.close();
  }
}

/** Prints each new leader (or new value) until interrupted; survives endpoint failures. */
async function listen(client: CliClient, name: string, flags: ElectFlags): Promise<void> {
  const stop = interruptions();
  const prefix = Buffer.from(`${name}/`, 'utf8');
  const keys = new Map<string, KeyValue>();
  let printed: KeyValue | undefined;
  const printHead = (): void => {
    let head: KeyValue | undefined;
    for (const kv of keys.values()) if (head === undefined || kv.createRevision < head.createRevision) head = kv;
    if (head === undefined || (printed !== undefined && printed.key.equals(head.key) && printed.modRevision === head.modRevision)) return;
    printed = head;
    printLeader(head, flags);
  };
  const initial = await queueKeys(client, name);
  for (const kv of initial.kvs) keys.set(kv.key.toString('hex'), kv);
  printHead();
  let next = initial.revision + 1;
  const apply = (events: Event[]): boolean => {
    for (const e of events) {
      if (e.kv === undefined) continue;
      if (e.type === Event_EventType.EVENT_TYPE_DELETE) keys.delete(e.kv.key.toString('hex'));
      else keys.set(e.kv.key.toString('hex'), e.kv);
      next = e.kv.modRevision + 1;
    }
    printHead();
    return false;
  };
  while (!stop.signal.aborted) {
    try {
      await watchFrom(client, prefix, prefixEnd(prefix), next, stop.signal, apply);
    } catch (err) {
      if (!isServiceError(err)) throw err;
      client.failover();
      await new Promise((r) => setTimeout(r, 200));
    }
  }
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
    if (name === '') throw usageError('the election name must not be empty');
    if ((value === undefined) === (flags.listen !== true)) throw usageError('give either a value to campaign with or --listen');
    const client = clientFromFlags(flags);
    try {
      if (value === undefined) await listen(client, name, flags);
      else await campaign(client, name, value, flags);
    } finally {
      client.close();
    }
  });
}
