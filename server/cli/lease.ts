/** `cairn lease grant|revoke|keep-alive|timetolive|list`, in etcdctl's shapes. */
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import type {
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseServiceClient,
  LeaseTimeToLiveResponse,
} from '../../gen/ts/cairn/v1/lease.js';
import { withClient, type CliClient } from './client.js';
import { formatLeaseId, parseLeaseId } from './lease-id.js';
import { addClientOptions, nonNegativeInt, type ClientFlags } from './options.js';
import { printJson, render, toJson, writeLine } from './output.js';

type Invoke<Res> = (
  lease: LeaseServiceClient,
  metadata: Metadata,
  options: { deadline: Date },
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

/** One unary lease call with the command deadline. */
async function leaseCall<Res>(client: CliClient, invoke: Invoke<Res>): Promise<Res> {
  const lease = await client.leaseClient();
  try {
    return await new Promise<Res>((resolve, reject) =>
      invoke(lease, new Metadata(), { deadline: client.callDeadline }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  } finally {
    lease.close();
  }
}

/** The response as JSON, with lease ids in hex like everywhere in the CLI. */
function withHexIds<T extends object>(response: T): unknown {
  const json = toJson(response) as Record<string, unknown>;
  if (typeof json.id === 'number') json.id = formatLeaseId(json.id);
  if (Array.isArray(json.leases)) json.leases = (json.leases as { id: number }[]).map((l) => ({ id: formatLeaseId(l.id) }));
  return json;
}

function grant(cmd: Command): void {
  addClientOptions(
    cmd
      .command('grant')
      .description('create a lease; prints its id in hex (raised to the cluster minimum TTL if smaller)')
      .argument('<ttl>', 'time to live in seconds', nonNegativeInt),
  ).action(async (ttl: number, flags: ClientFlags) => {
    const r = await withClient(flags, (c) => leaseCall<LeaseGrantResponse>(c, (l, m, o, cb) => l.leaseGrant({ ttl, id: 0 }, m, o, cb)));
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
    const r = await withClient(flags, (c) => leaseCall<LeaseRevokeResponse>(c, (l, m, o, cb) => l.leaseRevoke({ id }, m, o, cb)));
    render(flags.output, r, () => writeLine(`lease ${formatLeaseId(id)} revoked`));
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
    const r = await withClient(flags, (c) =>
      leaseCall<LeaseTimeToLiveResponse>(c, (l, m, o, cb) => l.leaseTimeToLive({ id, keys }, m, o, cb)),
    );
    if (flags.output === 'json') return printJson(withHexIds(r));
    const hex = formatLeaseId(id);
    if (r.ttl === -1) return writeLine(`lease ${hex} already expired`);
    const attached = keys ? `, attached keys([${r.keys.map((k) => k.toString('utf8')).join(' ')}])` : '';
    writeLine(`lease ${hex} granted with TTL(${r.grantedTtl}s), remaining(${r.ttl}s)${attached}`);
  });
}

function list(cmd: Command): void {
  addClientOptions(cmd.command('list').description('list the live leases')).action(async (flags: ClientFlags) => {
    const r = await withClient(flags, (c) => leaseCall<LeaseLeasesResponse>(c, (l, m, o, cb) => l.leaseLeases({}, m, o, cb)));
    if (flags.output === 'json') return printJson(withHexIds(r));
    writeLine(`found ${r.leases.length} leases`);
    for (const lease of r.leases) writeLine(formatLeaseId(lease.id));
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
    await withClient(flags, async (c) => {
      const lease = await c.leaseClient();
      const stream = lease.leaseKeepAlive();
      const hex = formatLeaseId(id);
      let timer: NodeJS.Timeout | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          const stop = (): void => {
            clearTimeout(timer);
            resolve();
          };
          process.once('SIGINT', stop).once('SIGTERM', stop);
          stream.on('data', (r: LeaseKeepAliveResponse) => {
            if (r.ttl <= 0) {
              // As etcdctl: the lease is gone, nothing more to renew.
              if (flags.output === 'json') printJson({ id: hex, ttl: r.ttl });
              else writeLine(`lease ${hex} expired or revoked.`);
              return stop();
            }
            if (flags.output === 'json') printJson({ id: hex, ttl: r.ttl });
            else writeLine(`lease ${hex} keepalived with TTL(${r.ttl})`);
            if (flags.once === true) return stop();
            timer = setTimeout(() => stream.write({ id }), Math.max(500, (r.ttl * 1000) / 3));
          });
          stream.on('error', reject);
          stream.on('end', stop);
          stream.write({ id });
        });
      } finally {
        stream.cancel();
        lease.close();
      }
    });
  });
}

export function registerLease(program: Command): void {
  const cmd = program.command('lease').description('grant, revoke, keep alive and inspect leases (ids in hex, as etcdctl)');
  for (const register of [grant, revoke, timeToLive, list, keepAlive]) register(cmd);
}
