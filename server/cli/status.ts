/** `cairn status`: every member of the cluster, its role, term and Raft progress. */
import type { Command } from 'commander';
import type { StatusResponse } from './sdk.js';
import { alarmLine } from './alarm-format.js';
import { clientFromFlags, rawCall, withClient, withoutSdkHint } from './client.js';
import { usageError } from './errors.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { formatRevision, printTable, render, writeLine } from './output.js';
import { CairnError, type CairnClient, type Member } from './sdk.js';

interface MemberReport {
  member: Member;
  status?: StatusResponse;
  /** Why the member did not answer. */
  error?: string;
}

/** Member ids in hex, as `cairn member list` and etcdctl print them. */
const hex = (id: bigint): string => id.toString(16);

/**
 * The member of `members` named `wanted`, or with that id: hex as printed, or decimal as
 * `-o json` gives it (a usage error listing them when none is).
 */
export function findMember(members: Member[], wanted: string): Member {
  const member =
    members.find((m) => m.name === wanted) ?? members.find((m) => hex(m.id) === wanted.toLowerCase() || String(m.id) === wanted);
  if (member === undefined)
    throw usageError(`no member named ${wanted} or with that id; members: ${members.map((m) => m.name).join(', ')}`);
  return member;
}

/** The cluster's members, from the first endpoint that answers. */
export function memberList(client: CairnClient): Promise<Member[]> {
  return client.members();
}

function describe(err: unknown): string {
  if (err instanceof CairnError) return `${err.codeName}: ${withoutSdkHint(err.message)}`;
  return err instanceof Error ? err.message : String(err);
}

/** Asks the member itself (not the cluster) for its status, through a client of its own. */
async function memberStatus(member: Member, flags: ClientFlags): Promise<MemberReport> {
  if (member.address === '') return { member, error: 'the member has no client address' };
  let client: CairnClient | undefined;
  try {
    client = await clientFromFlags(flags, [member.address]);
    const status = await rawCall<StatusResponse>(client, 'read', (c, cb) =>
      c.member.maintenance.status({}, c.metadata, { deadline: c.deadline }, cb),
    );
    return { member, status };
  } catch (err) {
    return { member, error: describe(err) };
  } finally {
    client?.close();
  }
}

function printStatusTable(reports: MemberReport[]): void {
  const rows = [['NAME', 'ID', 'ADDRESS', 'IS LEARNER', 'ROLE', 'LEADER', 'TERM', 'RAFT INDEX', 'COMMIT', 'APPLIED', 'REVISION']];
  const nameOf = (id: bigint): string => reports.find((r) => r.member.id === id)?.member.name ?? (id === 0n ? 'none' : hex(id));
  for (const { member, status } of reports) {
    if (status === undefined) {
      // The reason is printed below the table: it is too long for a column.
      rows.push([member.name, hex(member.id), member.address, String(member.learner), 'unreachable', '', '', '', '', '', '']);
      continue;
    }
    rows.push([
      member.name,
      hex(member.id),
      member.address,
      // A learner receives the log but does not vote: the member list says which (its own role reads follower).
      String(member.learner),
      status.role,
      nameOf(status.leader),
      String(status.raftTerm),
      String(status.raftIndex),
      String(status.raftCommitIndex),
      String(status.raftAppliedIndex),
      formatRevision(status.header?.revision ?? 0),
    ]);
  }
  printTable(rows);
  for (const { member, error } of reports) if (error !== undefined) writeLine(`${member.name} is unreachable: ${error}`);
  // Alarms are replicated: members list the same ones (a lagging member may not have applied one yet).
  const names = new Map(reports.map((r) => [r.member.id, r.member.name]));
  const seen = new Set<string>();
  for (const alarm of reports.flatMap((r) => r.status?.alarms ?? [])) {
    const key = `${alarm.memberId}/${alarm.alarm}`;
    if (seen.has(key)) continue;
    seen.add(key);
    writeLine(`ALARM ${alarmLine(alarm, names)}`);
  }
}

export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .description(
      'show every member: learner or voter, role, leader, term, raft index and applied index; then unreachable members and any active alarm',
    );
  addClientOptions(cmd).action(async (flags: ClientFlags) => {
    const members = await withClient(flags, memberList);
    const reports = await Promise.all(members.map((m) => memberStatus(m, flags)));
    render(
      flags.output,
      { members: reports.map((r) => ({ ...r.member, ...(r.status ?? {}), ...(r.error ? { error: r.error } : {}) })) },
      () => printStatusTable(reports),
    );
  });
}
