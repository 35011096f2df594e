/** `cairn check hash`: every member's HashKV at one revision, compared. */
import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import type { Member } from '../../gen/ts/cairn/v1/cluster.js';
import { MaintenanceServiceClient, type HashKVResponse, type StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { withClient } from './client.js';
import { CliError } from './errors.js';
import { addClientOptions, parseEndpoints, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { call, memberList } from './status.js';
import { clientCredentials } from './tls.js';

interface MemberHashReport {
  name: string;
  id: number;
  address: string;
  revision?: number;
  hash?: string;
  keys?: number;
  error?: string;
}

async function memberRevision(member: Member, creds: ChannelCredentials, timeoutMs: number): Promise<number> {
  const client = new MaintenanceServiceClient(member.address, creds);
  try {
    const status = await call<StatusResponse>((cb) => client.status({}, new Metadata(), { deadline: Date.now() + timeoutMs }, cb));
    return status.header?.revision ?? 0;
  } finally {
    client.close();
  }
}

/** Hashing reads every key: a deadline of its own, well above the command's. */
async function memberHash(
  member: Member,
  revision: number,
  creds: ChannelCredentials,
  metadata: Metadata,
  timeoutMs: number,
): Promise<MemberHashReport> {
  const report = { name: member.name, id: member.id, address: member.address };
  const client = new MaintenanceServiceClient(member.address, creds);
  try {
    const res = await call<HashKVResponse>((cb) => client.hashKv({ revision }, metadata, { deadline: Date.now() + timeoutMs }, cb));
    return { ...report, revision: res.revision, hash: res.hash, keys: res.keys };
  } catch (err) {
    return { ...report, error: (err as ServiceError).details ?? String(err) };
  } finally {
    client.close();
  }
}

function printTable(reports: MemberHashReport[]): void {
  const rows = [['NAME', 'ID', 'ADDRESS', 'REVISION', 'KEYS', 'HASH']];
  for (const r of reports) {
    rows.push([r.name, String(r.id), r.address, String(r.revision ?? ''), String(r.keys ?? ''), r.hash ?? `error: ${r.error ?? ''}`]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    writeLine(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

export function registerCheck(program: Command): void {
  const check = program.command('check').description('check the cluster');
  const hash = check
    .command('hash')
    .description("hash every member's key space at one revision (the lowest current one) and compare; exits 1 on a mismatch");
  addClientOptions(hash).action(async (flags: ClientFlags) => {
    const creds = clientCredentials(flags);
    const members = (await memberList(parseEndpoints(flags.endpoints), flags.commandTimeout, creds)).members;
    // The lowest revision any member reached: one every member has applied.
    const revisions = await Promise.all(members.map((m) => memberRevision(m, creds, flags.commandTimeout)));
    const revision = Math.min(...revisions);
    const metadata = await withClient(flags, (c) => c.callMetadata());
    const reports = await Promise.all(members.map((m) => memberHash(m, revision, creds, metadata, 10 * flags.commandTimeout)));
    const hashes = new Set(reports.map((r) => r.hash));
    const agree = hashes.size === 1 && !hashes.has(undefined);
    render(flags.output, { revision, agree, members: reports }, () => {
      printTable(reports);
      writeLine(agree ? `all ${reports.length} members agree at revision ${revision}` : `members DIFFER or failed at revision ${revision}`);
    });
    if (!agree)
      throw new CliError(
        `hash check failed at revision ${revision}: ${reports.map((r) => `${r.name}=${r.hash ?? r.error ?? ''}`).join(', ')}`,
      );
  });
}
