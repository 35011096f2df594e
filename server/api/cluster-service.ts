import type { ClusterServiceServer, MemberListResponse } from '../../gen/ts/cairn/v1/cluster.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { Logger } from 'pino';
import type { ClusterMember } from '../node/cluster-config.js';
import { unary } from './unary.js';

/** The Cluster service: the membership this member was started with. */
export function clusterService(
  members: () => readonly ClusterMember[],
  header: () => ResponseHeader,
  logger: Logger,
): ClusterServiceServer {
  return {
    memberList: unary(logger, 'MemberList', () =>
      Promise.resolve<MemberListResponse>({
        header: header(),
        members: members().map((m) => ({ id: m.id, name: m.name, address: m.address })),
      }),
    ),
  };
}
