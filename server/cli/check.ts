/** `cairn check hash`: every member's HashKV at one revision, compared. */
import type { Command } from 'commander';
import { rawCall, withClient, withMemberClient } from './client.js';
import { CliError } from './errors.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { printTable, render, writeLine } from './output.js';
import type { HashKVResponse, Member, StatusResponse } from './sdk.js';

interface MemberHashReport {
  name: string;
  id: bigint;
  address: string;
  revision?: bigint;
  hash?: string;
  keys?: number;
  error?: string;
}

function memberRevision(flags: ClientFlags, member: Member): Promise<bigint> {
  return withMemberClient(flags, member.address, async (client) => {
    const status = await rawCall<StatusResponse>(client, 'read', (c, cb) =>
      c.member.maintenance.status({}, c.metadata, { deadline: c.deadline }, cb),
    );
    return status.header?.revision ?? 0n;
  });
}

/** Hashing reads every key: a deadline of its own, well above the command's. */
async function memberHash(flags: ClientFlags, member: Member, revision: bigint): Promise<MemberHashReport> {
  const report = { name: member.name, id: member.id, address: member.address };
  try {
    const res = await withMemberClient(flags, member.address, (client) =>
      rawCall<HashKVResponse>(
        client,
        'read',
        (c, cb) => c.member.maintenance.hashKv({ revision }, c.metadata, { deadline: c.deadline }, cb),
        { timeoutMs: 10 * flags.commandTimeout },
      ),
    );
    return { ...report, revision: res.revision, hash: res.hash, keys: Number(res.keys) };
  } catch (err) {
    return { ...report, error: err instanceof Error ? err.message : String(err) };
  }
}

function printHashTable(reports: MemberHashReport[]): void {
  const rows = [['NAME', 'ID', 'ADDRESS', 'REVISION', 'KEYS', 'HASH']];
  for (const r of reports) {
    rows.push([r.name, String(r.id), r.address, String(r.revision ?? ''), String(r.keys ?? ''), r.hash ?? `error: ${r.error ?? ''}`]);
  }
  printTable(rows);
}

export function registerCheck(program: Command): void {
  const check = program.command('check').description('check the cluster');
  const hash = check
    .command('hash')
    .description("hash every member's key space at one revision (the lowest current one) and compare; exits 1 on a mismatch");
  addClientOptions(hash).action(async (flags: ClientFlags) => {
    const members = await withClient(flags, (c) => c.memberList());
    // The lowest revision any member reached: one every member has applied.
    const revisions = await Promise.all(members.map((m) => memberRevision(flags, m)));
    const revision = revisions.reduce((low, r) => (r < low ? r : low));
    const reports = await Promise.all(members.map((m) => memberHash(flags, m, revision)));
    const hashes = new Set(reports.map((r) => r.hash));
    const agree = hashes.size === 1 && !hashes.has(undefined);
    render(flags.output, { revision, agree, members: reports }, () => {
      printHashTable(reports);
      writeLine(agree ? `all ${reports.length} members agree at revision ${revision}` : `members DIFFER or failed at revision ${revision}`);
    });
    if (!agree)
      throw new CliError(
        `hash check failed at revision ${revision}: ${reports.map((r) => `${r.name}=${r.hash ?? r.error ?? ''}`).join(', ')}`,
      );
  });
}
