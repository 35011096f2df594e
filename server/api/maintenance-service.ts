import type { Logger } from 'pino';
import {
  AlarmAction,
  type AlarmMember,
  type AlarmsResponse,
  type AlarmType,
  type HashKVResponse,
  type MaintenanceServiceServer,
  type MoveLeaderResponse,
  type StatusResponse,
} from '../../gen/ts/cairn/v1/maintenance.js';
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

/** The cluster's replicated alarms (apply/alarm-store.ts) and the way to end them (through the log). */
export interface AlarmAccess {
  list(): AlarmMember[];
  disarm(memberId: number, alarm: AlarmType): Promise<void>;
}

export function maintenanceService(
  store: MvccStore,
  status: () => MemberStatus,
  mover: LeaderMover,
  header: () => ResponseHeader,
  version: string,
  logger: Logger,
  alarms: AlarmAccess,
): MaintenanceServiceServer {
  return {
    status: unary(logger, 'Status', () =>
      Promise.resolve<StatusResponse>({ header: header(), version, ...status(), alarms: alarms.list() }),
    ),
    alarms: unary(logger, 'Alarms', async (req): Promise<AlarmsResponse> => {
      if (req.action === AlarmAction.ALARM_ACTION_DISARM) await alarms.disarm(req.memberId, req.alarm);
      else if (req.action !== AlarmAction.ALARM_ACTION_LIST && req.action !== AlarmAction.ALARM_ACTION_UNSPECIFIED) {
        throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `unknown alarm action ${req.action}`);
      }
      return { header: header(), alarms: alarms.list() };
    }),
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
