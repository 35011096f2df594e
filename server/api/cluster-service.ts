import type { ClusterServiceServer, Member } from '../../gen/ts/cairn/v1/cluster.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import type { Logger } from 'pino';
import type { MemberView } from '../node/membership.js';
import type { MembershipChanges } from '../node/membership-changes.js';
import { unary } from './unary.js';

export interface ClusterServiceDeps {
  /** The current members (as of this member's applied index). */
  readonly members: () => readonly MemberView[];
  readonly changes: MembershipChanges;
  readonly header: () => ResponseHeader;
  readonly logger: Logger;
}

/** The Cluster service: lists the members, and adds, promotes and removes them (on the leader). */
export function clusterService(deps: ClusterServiceDeps): ClusterServiceServer {
  const { logger, header, changes } = deps;
  const members = (): Member[] => deps.members().map(toMember);
  return {
    memberList: unary(logger, 'MemberList', () => Promise.resolve({ header: header(), members: members() })),
    memberAdd: unary(logger, 'MemberAdd', async (req) => {
      const added = await changes.add(req.name, req.address);
      logger.info({ name: added.name, id: added.id, address: added.address }, 'member added as a learner');
      return { header: header(), member: toMember(added), members: members() };
    }),
    memberPromote: unary(logger, 'MemberPromote', async (req) => {
      await changes.promote(req.id);
      logger.info({ id: req.id }, 'learner promoted to voter');
      return { header: header(), members: members() };
    }),
    memberRemove: unary(logger, 'MemberRemove', async (req) => {
      await changes.remove(req.id);
      logger.info({ id: req.id }, 'member removed');
      return { header: header(), members: members() };
    }),
  };
}

function toMember(m: MemberView): Member {
  return { id: m.id, name: m.name, address: m.address, learner: m.learner };
}
