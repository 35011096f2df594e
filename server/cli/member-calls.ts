/**
 * The Cluster service calls behind `cairn member`, one small function each, and the loop that
 * sends a membership change to the leader (changes are made there) and follows it when
 * leadership moves under the call.
 */
import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  ClusterServiceClient,
  type Member,
  type MemberAddResponse,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
} from '../../gen/ts/cairn/v1/cluster.js';
import { ErrorCode, ErrorInfo, RpcStatus, protobufPackage } from '../../gen/ts/cairn/v1/errors.js';
import { MaintenanceServiceClient, type StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { CliError, isServiceError } from './errors.js';
import { call, memberList } from './status.js';

export interface CallContext {
  readonly endpoints: string[];
  readonly credentials: ChannelCredentials;
  /** Carries the --user token: membership changes need the root role once auth is on. */
  readonly metadata: Metadata;
  readonly timeoutMs: number;
}

const ERROR_INFO_TYPE_URL = `type.googleapis.com/${protobufPackage}.ErrorInfo`;

/** The server's domain code from the ErrorInfo in the status details, when it sent one. */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  if (!isServiceError(err)) return undefined;
  const raw = err.metadata?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  try {
    const detail = RpcStatus.decode(raw).details.find((d) => d.typeUrl === ERROR_INFO_TYPE_URL);
    return detail === undefined ? undefined : ErrorInfo.decode(detail.value).code;
  } catch {
    return undefined;
  }
}

function memberStatus(address: string, ctx: CallContext): Promise<StatusResponse> {
  const client = new MaintenanceServiceClient(address, ctx.credentials);
  return call<StatusResponse>((cb) => client.status({}, new Metadata(), { deadline: Date.now() + ctx.timeoutMs }, cb)).finally(() =>
    client.close(),
  );
}

/** The current members and the leader among them, as the first endpoint that answers sees it. */
export async function findLeader(ctx: CallContext): Promise<{ members: Member[]; leader: Member; clusterId: number }> {
  const list = await memberList(ctx.endpoints, ctx.timeoutMs, ctx.credentials);
  // Any member knows who leads; ask the listed members in turn, so that an endpoint that is
  // down (or just removed) does not stop the command.
  const failures: string[] = [];
  for (const m of list.members) {
    try {
      const s = await memberStatus(m.address, ctx);
      const leader = list.members.find((x) => x.id === s.leader);
      if (leader !== undefined) return { members: list.members, leader, clusterId: list.header?.clusterId ?? 0 };
      failures.push(`${m.name}: knows no leader`);
    } catch (err) {
      failures.push(`${m.name}: ${isServiceError(err) ? err.details : String(err)}`);
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
export async function onLeader<T>(ctx: CallContext, change: (client: ClusterServiceClient, leader: Member) => Promise<T>): Promise<T> {
  for (let hop = 0; ; hop++) {
    const { leader } = await findLeader(ctx);
    const client = new ClusterServiceClient(leader.address, ctx.credentials);
    try {
      return await change(client, leader);
    } catch (err) {
      if (hop + 1 >= LEADER_HOPS || errorCodeOf(err) !== ErrorCode.ERROR_CODE_NOT_LEADER) throw err;
      process.stderr.write(`${(err as ServiceError).details}; sending it there\n`);
    } finally {
      client.close();
    }
  }
}

const options = (ctx: CallContext): { deadline: number } => ({ deadline: Date.now() + ctx.timeoutMs });

export function addMember(ctx: CallContext, client: ClusterServiceClient, name: string, address: string): Promise<MemberAddResponse> {
  return call((cb) => client.memberAdd({ name, address }, ctx.metadata, options(ctx), cb));
}

export function promoteMember(ctx: CallContext, client: ClusterServiceClient, id: number): Promise<MemberPromoteResponse> {
  return call((cb) => client.memberPromote({ id }, ctx.metadata, options(ctx), cb));
}

export function removeMember(ctx: CallContext, client: ClusterServiceClient, id: number): Promise<MemberRemoveResponse> {
  return call((cb) => client.memberRemove({ id }, ctx.metadata, options(ctx), cb));
}
