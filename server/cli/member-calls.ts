/**
 * The Cluster service calls behind `cairn member`, one small function each, and the loop that
 * sends a membership change to the leader (changes are made there) and follows it when
 * leadership moves under the call. Every call goes through the SDK (its deadline, token and
 * TLS), to the one member it is meant for.
 */
import { rawCall, withClient, withMemberClient } from './client.js';
import { CliError } from './errors.js';
import type { ClientFlags } from './options.js';
import {
  CairnError,
  ErrorCode,
  type CairnClient,
  type Member,
  type MemberAddResponse,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
  type StatusResponse,
} from './sdk.js';

/** The server's domain code, when the failure carried one. */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  return err instanceof CairnError ? err.cairnCode : undefined;
}

function memberStatus(flags: ClientFlags, address: string): Promise<StatusResponse> {
  return withMemberClient(flags, address, (client) =>
    rawCall<StatusResponse>(client, 'read', (c, cb) => c.member.maintenance.status({}, c.metadata, { deadline: c.deadline }, cb)),
  );
}

/** The current members and the leader among them, as the first endpoint that answers sees it. */
export async function findLeader(flags: ClientFlags): Promise<{ members: Member[]; leader: Member }> {
  const members = await withClient(flags, (c) => c.memberList());
  // Any member knows who leads; ask the listed members in turn, so that an endpoint that is
  // down (or just removed) does not stop the command.
  const failures: string[] = [];
  for (const m of members) {
    try {
      const s = await memberStatus(flags, m.address);
      const leader = members.find((x) => x.id === s.leader);
      if (leader !== undefined) return { members, leader };
      failures.push(`${m.name}: knows no leader`);
    } catch (err) {
      failures.push(`${m.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new CliError(`no member knows a leader now (${failures.join('; ')}); retry once one is elected`);
}

/** Leadership moving under a change is worth following this many times, no more. */
const LEADER_HOPS = 3;

/**
 * Runs `change` on the leader. NOT_LEADER (leadership moved, or the leader handed it over
 * before removing itself) sends it again to the new leader: the change was not made.
 */
export async function onLeader<T>(flags: ClientFlags, change: (client: CairnClient, leader: Member) => Promise<T>): Promise<T> {
  for (let hop = 0; ; hop++) {
    const { leader } = await findLeader(flags);
    try {
      return await withMemberClient(flags, leader.address, (client) => change(client, leader));
    } catch (err) {
      if (hop + 1 >= LEADER_HOPS || errorCodeOf(err) !== ErrorCode.ERROR_CODE_NOT_LEADER) throw err;
      process.stderr.write(`${(err as Error).message}; sending it there\n`);
    }
  }
}

export function addMember(client: CairnClient, name: string, address: string): Promise<MemberAddResponse> {
  return rawCall(client, 'write', (c, cb) => c.member.cluster.memberAdd({ name, address }, c.metadata, { deadline: c.deadline }, cb));
}

export function promoteMember(client: CairnClient, id: bigint): Promise<MemberPromoteResponse> {
  return rawCall(client, 'write', (c, cb) => c.member.cluster.memberPromote({ id }, c.metadata, { deadline: c.deadline }, cb));
}

export function removeMember(client: CairnClient, id: bigint): Promise<MemberRemoveResponse> {
  return rawCall(client, 'write', (c, cb) => c.member.cluster.memberRemove({ id }, c.metadata, { deadline: c.deadline }, cb));
}
