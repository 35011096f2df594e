/** `cairn lease grant|revoke|keep-alive|timetolive|list`, in etcdctl's shapes. */
import { Option, type Command } from 'commander';
import { withClient } from './client.js';
import { formatLeaseId, parseLeaseId } from './lease-id.js';
import { addClientOptions, nonNegativeInt, type ClientFlags } from './options.js';
import { printJson, render, toJson, writeLine } from './output.js';
import { interruptions } from './interruptions.js';
import { CairnError } from './sdk.js';

/** The SDK's error for a lease that is gone (expired or revoked). */
const isGone = (err: unknown): boolean => err instanceof CairnError && err.codeName === 'NOT_FOUND';

function grant(cmd: Command): void {
  addClientOptions(
    cmd
      .command('grant')
      .description('create a lease; prints its id in hex (raised to the cluster minimum TTL if smaller)')
      .argument('<ttl>', 'time to live in seconds', nonNegativeInt),
  ).action(async (ttl: number, flags: ClientFlags) => {
    const r = await withClient(flags, (c) => c.lease.grant(ttl));
    if (flags.output === 'json') printJson({ id: formatLeaseId(r.id), ttl: r.ttl });
    else writeLine(`lease ${formatLeaseId(r.id)} granted with TTL(${r.ttl}s)`);
  });
}

function revoke(cmd: Command): void {
  addClientOptions(
    cmd
      .command('revoke')
      .description('end a lease at once, deleting every key attached to it')
      .argument('<id>', 'lease id (hex)', parseLeaseId),
  ).action(async (id: number, flags: ClientFlags) => {
    const header = await withClient(flags, (c) => c.lease.revoke(id));
    render(flags.output, { header }, () => writeLine(`lease ${formatLeaseId(id)} revoked`));
  });
}

function timeToLive(cmd: Command): void {
  addClientOptions(
    cmd
      .command('timetolive')
      .description("show a lease's granted and remaining TTL")
      .argument('<id>', 'lease id (hex)', parseLeaseId)
      .option('--keys', 'also list the keys attached to the lease'),
  ).action(async (id: number, flags: ClientFlags & { keys?: boolean }) => {
    const keys = flags.keys === true;
    const r = await withClient(flags, (c) => c.lease.timeToLive(id, { keys }));
    const hex = formatLeaseId(id);
    if (flags.output === 'json') return printJson({ ...(toJson(r) as object), id: hex });
    if (r.ttl === -1) return writeLine(`lease ${hex} already expired`);
    const shown = r.keys.map((k) => (flags.hex === true ? k.toString('hex') : k.toString('utf8')));
    const attached = keys ? `, attached keys([${shown.join(' ')}])` : '';
    writeLine(`lease ${hex} granted with TTL(${r.grantedTtl}s), remaining(${r.ttl}s)${attached}`);
  });
}

function list(cmd: Command): void {
  addClientOptions(cmd.command('list').description('list the live leases')).action(async (flags: ClientFlags) => {
    const ids = await withClient(flags, (c) => c.lease.leases());
    if (flags.output === 'json') return printJson({ leases: ids.map((id) => ({ id: formatLeaseId(id) })) });
    writeLine(`found ${ids.length} leases`);
    for (const id of ids) writeLine(formatLeaseId(id));
  });
}

function keepAlive(cmd: Command): void {
  addClientOptions(
    cmd
      .command('keep-alive')
      .description('renew a lease until interrupted (every third of its TTL), printing each renewal')
      .argument('<id>', 'lease id (hex)', parseLeaseId)
      .addOption(new Option('--once', 'renew once and exit')),
  ).action(async (id: number, flags: ClientFlags & { once?: boolean }) => {
    const hex = formatLeaseId(id);
    const print = (ttl: number): void => {
      if (flags.output === 'json') printJson({ id: hex, ttl });
      else writeLine(`lease ${hex} keepalived with TTL(${ttl})`);
    };
    const stop = interruptions();
    try {
      await withClient(flags, async (c) => {
        if (flags.once === true) return print((await c.lease.keepAliveOnce(id)).ttl);
        // The SDK's keep-alive: renews every TTL/3, moving to another member when one fails.
        for await (const renewal of c.lease.keepAlive(id, { signal: stop.signal })) print(renewal.ttl);
      });
    } catch (err) {
      // As etcdctl: a lease that is gone ends the command, saying so.
      if (!isGone(err)) throw err;
      if (flags.output === 'json') printJson({ id: hex, ttl: 0 });
      else writeLine(`lease ${hex} expired or revoked.`);
    } finally {
      stop.abort();
    }
  });
}

export function registerLease(program: Command): void {
  const cmd = program.command('lease').description('grant, revoke, keep alive and inspect leases (ids in hex, as etcdctl)');
  for (const register of [grant, revoke, timeToLive, list, keepAlive]) register(cmd);
}
