import type { Logger } from 'pino';
import type { HashKVResponse, MaintenanceServiceServer, MoveLeaderResponse, StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { MvccStore } from '../mvcc/kv-store.js';
import { hashKeySpace } from '../mvcc/hash-kv.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import { unary } from './unary.js';

/** What the Status call reports about this member's consensus state. */
export interface MemberStatus {
  name: string;
  leader: number;
  role: string;
  raftIndex: number;
  raftTerm: number;
  raftCommitIndex: number;
  raftAppliedIndex: number;
  compactedRevision: number;
  storageEngine: string;
}

/** The Maintenance service: one member's health and progress. */
/** Moves leadership; see RaftNode.moveLeader. */
export interface LeaderMover {
  /** The current members (they change with membership changes). */
  memberIds: () => readonly number[];
  moveLeader(target: number): Promise<void>;
}

export function maintenanceService(
  store: MvccStore,
  status: () => MemberStatus,
  mover: LeaderMover,
  header: () => ResponseHeader,
  version: string,
  logger: Logger,
): MaintenanceServiceServer {
  return {
    status: unary(logger, 'Status', () => Promise.resolve<StatusResponse>({ header: header(), version, ...status() })),
    hashKv: unary(logger, 'HashKV', async (req): Promise<HashKVResponse> => {
      store.checkReadable(req.revision > 0 ? req.revision : store.currentRevision);
      const { hash, revision, keys } = await hashKeySpace(store, req.revision);
      return { header: header(), hash, revision, compactRevision: store.compactedRevision, keys };
    }),
    moveLeader: unary(logger, 'MoveLeader', async (req): Promise<MoveLeaderResponse> => {
      if (!mover.memberIds().includes(req.targetId)) {
        throw new CairnError(
          ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
          `member ${req.targetId} is not in the cluster (${mover.memberIds().join(', ')}); see 'cairn status'`,
        );
      }
      await mover.moveLeader(req.targetId);
      return { header: header() };
    }),
  };
}
