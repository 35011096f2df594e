import { status, type Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ClusterServer, Member, ResponseHeader } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { CairnError, ErrorCode } from '../../errors.js';
import type { MembershipChanges } from '../../node/membership-changes.js';
import type { MemberView } from '../../node/membership.js';
import { ETCD_ERRORS, EtcdStatusError } from './rpctypes.js';
import { addressOfPeerUrls, toEtcdMember, type UrlScheme } from './etcd-member.js';
import { etcdError } from './etcd-call-errors.js';
import { etcdUnary } from './etcd-unary.js';
import { ClusterLeaderForwarder } from './leader-forward.js';

export interface EtcdClusterDeps {
  /** The current members (as of this member's applied index). */
  readonly members: () => readonly MemberView[];
  /** The same changes as cairn.v1's Cluster service: one at a time, on the leader, learners first. */
  readonly changes: MembershipChanges;
  /** The leader's address, or undefined when this member leads or no leader is known. */
  readonly leaderAddress: () => string | undefined;
  readonly forwarder: ClusterLeaderForwarder;
  readonly linearizableReadBarrier: () => Promise<void>;
  readonly header: () => ResponseHeader;
  readonly scheme: UrlScheme;
  readonly logger: Logger;
}

/**
 * etcd's Cluster service over Cairn's membership (see etcd-member.ts for how members map).
 * Changes are Cairn's: a member joins as a learner and becomes a voter by promotion once
 * caught up, so MemberAdd of a voter is refused; a follower sends changes on to the leader.
 */
export function etcdClusterService(deps: EtcdClusterDeps): ClusterServer {
  const { logger, changes } = deps;
  const members = (): Member[] => deps.members().map((m) => toEtcdMember(m, deps.scheme));
  const byId = (id: number): MemberView | undefined => deps.members().find((m) => m.id === id);

  /** Runs a change here, or on the leader when this member is not it. */
  async function onLeader<Req, Res>(
    method: 'memberAdd' | 'memberRemove' | 'memberPromote',
    req: Req,
    metadata: Metadata,
    here: () => Promise<Res>,
  ): Promise<Res> {
    const leader = deps.leaderAddress();
    if (leader === undefined || ClusterLeaderForwarder.wasForwarded(metadata)) {
      try {
        return await here();
      } catch (err) {
        // Removing the leader hands leadership over first (MembershipChanges.remove): follow it once.
        const moved = err instanceof CairnError && err.code === ErrorCode.ERROR_CODE_NOT_LEADER;
        const next = deps.leaderAddress();
        if (!moved || next === undefined || ClusterLeaderForwarder.wasForwarded(metadata)) throw err;
        return deps.forwarder.forward<Req, Res>(next, method, req, metadata);
      }
    }
    return deps.forwarder.forward<Req, Res>(leader, method, req, metadata);
  }

  return {
    memberList: etcdUnary(logger, 'MemberList', async (req) => {
      if (req.linearizable) await deps.linearizableReadBarrier();
      return { header: deps.header(), members: members() };
    }),
    memberAdd: etcdUnary(logger, 'MemberAdd', (req, call) => {
      const address = addressOfPeerUrls(req.peerURLs);
      if (deps.members().some((m) => m.address === address)) throw new EtcdStatusError(ETCD_ERRORS.peerURLExist);
      if (!req.isLearner) {
        throw etcdError(
          status.FAILED_PRECONDITION,
          'etcdserver: Cairn adds members as learners only: add it with --learner (isLearner), start it, then promote it',
        );
      }
      return onLeader('memberAdd', req, call.metadata, async () => {
        // etcd's MemberAdd names no member: Cairn names it by its address (etcd-member.ts).
        const added = await changes.add(address, address);
        logger.info({ name: added.name, id: added.id }, 'member added as a learner (etcd API)');
        return { header: deps.header(), member: toEtcdMember(added, deps.scheme), members: members() };
      });
    }),
    memberRemove: etcdUnary(logger, 'MemberRemove', (req, call) =>
      onLeader('memberRemove', req, call.metadata, async () => {
        await changes.remove(req.ID);
        logger.info({ id: req.ID }, 'member removed (etcd API)');
        return { header: deps.header(), members: members() };
      }),
    ),
    memberPromote: etcdUnary(logger, 'MemberPromote', (req, call) => {
      const member = byId(req.ID);
      if (member === undefined) throw new CairnError(ErrorCode.ERROR_CODE_MEMBER_NOT_FOUND, `member ${req.ID} not found`);
      if (!member.learner) throw new EtcdStatusError(ETCD_ERRORS.memberNotLearner);
      return onLeader('memberPromote', req, call.metadata, async () => {
        await changes.promote(req.ID);
        logger.info({ id: req.ID }, 'learner promoted to voter (etcd API)');
        return { header: deps.header(), members: members() };
      });
    }),
    memberUpdate: etcdUnary(logger, 'MemberUpdate', (req) => {
      const member = byId(req.ID);
      if (member === undefined) throw new CairnError(ErrorCode.ERROR_CODE_MEMBER_NOT_FOUND, `member ${req.ID} not found`);
      // Nothing to change is a change etcd accepts; any other address is one Cairn cannot make.
      if (addressOfPeerUrls(req.peerURLs) === member.address) return Promise.resolve({ header: deps.header(), members: members() });
      throw etcdError(
        status.UNIMPLEMENTED,
        "etcdserver: Cairn cannot change a member's address: remove the member and add it again at its new address",
      );
    }),
  };
}
