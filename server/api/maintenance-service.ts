import type { Logger } from 'pino';
import {
  AlarmAction,
  type AlarmMember,
  type AlarmsResponse,
  type AlarmType,
  type DefragmentResponse,
  type HashKVResponse,
  type MaintenanceServiceServer,
  type MoveLeaderResponse,
  type StatusResponse,
} from '../../gen/ts/cairn/v1/maintenance.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { MvccStore } from '../mvcc/kv-store.js';
import { hashKeySpace, type HashPaging } from '../mvcc/hash-kv.js';
import type { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import { snapshotStreamHandler, type SnapshotStreamDeps } from './snapshot-stream.js';
import type { SnapshotStreamSlots } from './snapshot-stream-slots.js';
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

/** The member's engine files: their size and their compaction (Status, Defragment). */
export interface EngineUpkeep {
  /** Bytes of the engine's files on disk. */
  diskBytes(): Promise<number>;
  /** The engine's estimate of the bytes its live data takes (0 without one). */
  liveDataBytes(): Promise<number>;
  /**
   * Gives the space of deleted data back: in place (LevelDB's CompactRange) or by copying
   * the live data into fresh files and swapping them in, writes held back meanwhile
   * (RocksDB; storage/engine-rebuild.ts).
   */
  defragment(): Promise<EngineDefragment>;
}

/** What a defragment did and cost, as the engine reports it. */
export interface EngineDefragment {
  /** compact-range or copy. */
  readonly method: string;
  /** How long writes were held back, in milliseconds (0 when they were not). */
  readonly writePauseMs: number;
  /** Bytes of keys and values copied (0 in place). */
  readonly copiedBytes: number;
}

export interface BackupAccess {
  readonly backup: SnapshotStreamDeps['backup'];
  /** One bound for both APIs' Snapshot streams (--max-snapshot-streams). */
  readonly slots: SnapshotStreamSlots;
}

/** The Maintenance service: one member's health and progress, its backups and its engine files. */
export function maintenanceService(
  store: MvccStore,
  status: () => MemberStatus,
  mover: LeaderMover,
  header: () => ResponseHeader,
  version: string,
  logger: Logger,
  alarms: AlarmAccess,
  engine: EngineUpkeep,
  backups: BackupAccess,
  /** HashKV reads in pages sized by --max-value-bytes, so a page stays within its byte bound. */
  hashPaging: HashPaging,
): MaintenanceServiceServer {
  // Defragment requests that arrive while one runs wait for it instead of compacting again.
  let defragmenting: Promise<DefragmentResponse> | undefined;
  const defragment = async (): Promise<DefragmentResponse> => {
    const before = await engine.diskBytes();
    const started = performance.now();
    logger.info({ before }, 'defragmenting the engine files');
    const { method, writePauseMs, copiedBytes } = await engine.defragment();
    const durationMs = Math.round(performance.now() - started);
    const after = await engine.diskBytes();
    // What it cost: the time, and (RocksDB, by copy) how long this member's writes waited.
    logger.info({ before, after, durationMs, writePauseMs, method, copiedBytes }, 'defragmented the engine files');
    return { header: header(), dbSizeBefore: before, dbSizeAfter: after, durationMs, writePauseMs };
  };
  return {
    status: unary(logger, 'Status', async (): Promise<StatusResponse> => {
      const [dbSize, dbSizeInUse] = await Promise.all([engine.diskBytes(), engine.liveDataBytes()]);
      return { header: header(), version, ...status(), alarms: alarms.list(), dbSize, dbSizeInUse };
    }),
    snapshot: snapshotStreamHandler({
      backup: backups.backup,
      // The live data is what the stream copies; the files' size is the fallback.
      estimateBytes: async () => (await engine.liveDataBytes()) || (await engine.diskBytes()),
      header,
      version,
      slots: backups.slots,
      logger,
    }),
    defragment: unary(logger, 'Defragment', (): Promise<DefragmentResponse> => {
      defragmenting ??= defragment().finally(() => {
        defragmenting = undefined;
      });
      return defragmenting;
    }),
    alarms: unary(logger, 'Alarms', async (req): Promise<AlarmsResponse> => {
      if (req.action === AlarmAction.ALARM_ACTION_DISARM) await alarms.disarm(req.memberId, req.alarm);
      else if (req.action !== AlarmAction.ALARM_ACTION_LIST && req.action !== AlarmAction.ALARM_ACTION_UNSPECIFIED) {
        throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `unknown alarm action ${req.action}`);
      }
      return { header: header(), alarms: alarms.list() };
    }),
    hashKv: unary(logger, 'HashKV', async (req): Promise<HashKVResponse> => {
      store.checkReadable(req.revision > 0 ? req.revision : store.currentRevision);
      const { hash, revision, keys } = await hashKeySpace(store, req.revision, hashPaging);
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
