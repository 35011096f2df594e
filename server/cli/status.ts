/** `cairn status`: every member of the cluster, its role, term and Raft progress. */
import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { ClusterServiceClient, type Member, type MemberListResponse } from '../../gen/ts/cairn/v1/cluster.js';
import { MaintenanceServiceClient, type StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { alarmLine } from './alarm-format.js';
import { parseEndpoints, addClientOptions, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { serviceError } from './errors.js';
import { clientCredentials } from './tls.js';
import { status as grpcStatus } from '@grpc/grpc-js';

interface MemberReport {
  member: Member;
  status?: StatusResponse;
  error?: string;
}

export function call<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

export async function memberList(endpoints: string[], timeoutMs: number, creds: ChannelCredentials): Promise<MemberListResponse> {
  let lastError: ServiceError | undefined;
  for (const endpoint of endpoints) {
    const client = new ClusterServiceClient(endpoint, creds);
    try {
      return await call<MemberListResponse>((cb) => client.memberList({}, new Metadata(), { deadline: Date.now() + timeoutMs }, cb));
    } catch (err) {
      lastError = err as ServiceError; // what `call` rejects with
    } finally {
      client.close();
    }
  }
  throw lastError ?? serviceError(grpcStatus.UNAVAILABLE, 'no endpoint answered');
}

async function memberStatus(member: Member, timeoutMs: number, creds: ChannelCredentials): Promise<MemberReport> {
  const client = new MaintenanceServiceClient(member.address, creds);
  try {
    const status = await call<StatusResponse>((cb) => client.status({}, new Metadata(), { deadline: Date.now() + timeoutMs }, cb));
    return { member, status };
  } catch (err) {
    return { member, error: (err as ServiceError).details ?? String(err) };
  } finally {
    client.close();
  }
}

function printTable(reports: MemberReport[]): void {
  const rows = [['NAME', 'ID', 'ADDRESS', 'IS LEARNER', 'ROLE', 'LEADER', 'TERM', 'RAFT INDEX', 'COMMIT', 'APPLIED', 'REVISION']];
  const nameOf = (id: number): string => reports.find((r) => r.member.id === id)?.member.name ?? (id === 0 ? 'none' : String(id));
  for (const { member, status, error } of reports) {
    if (status === undefined) {
      rows.push([
        member.name,
        String(member.id),
        member.address,
        String(member.learner),
        `unreachable: ${error ?? ''}`,
        '',
        '',
        '',
        '',
        '',
        '',
      ]);
      continue;
    }
    rows.push([
      member.name,
      String(member.id),
      member.address,
      // A learner receives the log but does not vote: the member list says which (its own role reads follower).
      String(member.learner),
      status.role,
      nameOf(status.leader),
      String(status.raftTerm),
      String(status.raftIndex),
      String(status.raftCommitIndex),
      String(status.raftAppliedIndex),
      String(status.header?.revision ?? 0),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    writeLine(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
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
    .description('show every member: learner or voter, role, leader, term, raft index and applied index; then any active alarm');
  addClientOptions(cmd).action(async (flags: ClientFlags) => {
    const endpoints = parseEndpoints(flags.endpoints);
    const creds = clientCredentials(flags);
    const list = await memberList(endpoints, flags.commandTimeout, creds);
    const reports = await Promise.all(list.members.map((m) => memberStatus(m, flags.commandTimeout, creds)));
    render(
      flags.output,
      { members: reports.map((r) => ({ ...r.member, ...(r.status ?? {}), ...(r.error ? { error: r.error } : {}) })) },
      () => printTable(reports),
    );
  });
}
