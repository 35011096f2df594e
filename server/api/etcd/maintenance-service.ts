import type { Logger } from 'pino';
import { AlarmType as CairnAlarmType, type AlarmMember as CairnAlarmMember } from '../../../gen/ts/cairn/v1/maintenance.js';
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  alarmTypeToJSON,
  type AlarmMember,
  type MaintenanceServer,
  type ResponseHeader,
} from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { CairnError, ErrorCode } from '../../errors.js';
import { hashKeySpace } from '../../mvcc/hash-kv.js';
import type { MvccStore } from '../../mvcc/kv-store.js';
import type { AlarmAccess, BackupAccess, EngineUpkeep, LeaderMover } from '../maintenance-service.js';
import { ETCD_ERRORS, EtcdStatusError } from './rpctypes.js';
import { etcdSnapshotHandler } from './snapshot-stream.js';
import { etcdDowngrade } from './downgrade.js';
import { hashStoreContent } from './store-hash.js';
import { etcdUnary } from './etcd-unary.js';

/**
 * The etcd release whose API (proto/etcd, imported from v3.7.3) this member serves. Status
 * reports it with Cairn's own version as semver build metadata ("3.7.3+cairn.0.9.0"): clients
 * that check the server's version (clientv3 parses it as semver) see 3.7.3, people see both.
 */
export const ETCD_API_VERSION = '3.7.3';

/** The cluster version as etcd answers it (major.minor, etcd's version.Cluster): Downgrade's answer. */
const ETCD_CLUSTER_VERSION = ETCD_API_VERSION.split('.').slice(0, 2).join('.');

/**
 * Status.storageVersion: etcd reports its storage schema version, which its version monitor
 * keeps at the cluster version's major.minor (3.7.0 for etcd 3.7.x). Cairn's store holds the
 * data model of the etcd API it serves (keys, revisions, leases, auth), so it reports that
 * API's major.minor the same way. It is not a bbolt schema: etcdutl cannot read Cairn's files,
 * and Downgrade is refused, so no tool can act on it as on etcd's (docs/etcd-compatibility.md).
 */
export const ETCD_STORAGE_VERSION = `${ETCD_CLUSTER_VERSION}.0`;

export function etcdVersionString(cairnVersion: string): string {
  return `${ETCD_API_VERSION}+cairn.${cairnVersion.replace(/[^0-9A-Za-z.-]/g, '-')}`;
}

/** This member's consensus state as etcd's Status reports it. */
export interface EtcdMemberStatus {
  id: number;
  leader: number;
  term: number;
  commit: number;
  applied: number;
  learner: boolean;
}

export interface EtcdMaintenanceDeps {
  readonly store: MvccStore;
  readonly status: () => EtcdMemberStatus;
  readonly mover: LeaderMover;
  readonly alarms: AlarmAccess & {
    /** Raises an alarm through the log (etcd lets an administrator do so). */
    arm(memberId: number, alarm: CairnAlarmType): Promise<void>;
  };
  readonly engine: EngineUpkeep;
  readonly backups: BackupAccess;
  /** --quota-backend-bytes (0: off). */
  readonly quotaBytes: number;
  /** --max-value-bytes: sizes HashKV's and Hash's pages, so that one page stays within its byte bound. */
  readonly maxValueBytes: number;
  readonly header: () => ResponseHeader;
  readonly cairnVersion: string;
  readonly logger: Logger;
}

/** Cairn's alarm types are etcd's (NOSPACE, CORRUPT), numbered alike; anything else is refused. */
function toCairnAlarm(alarm: AlarmType): CairnAlarmType {
  switch (alarm) {
    case AlarmType.NONE:
      return CairnAlarmType.ALARM_TYPE_UNSPECIFIED;
    case AlarmType.NOSPACE:
      return CairnAlarmType.ALARM_TYPE_NOSPACE;
    case AlarmType.CORRUPT:
      return CairnAlarmType.ALARM_TYPE_CORRUPT;
    default:
      throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `unknown alarm type ${alarm}`);
  }
}

function toEtcdAlarm(a: CairnAlarmMember): AlarmMember {
  const alarm = a.alarm === CairnAlarmType.ALARM_TYPE_NOSPACE ? AlarmType.NOSPACE : AlarmType.CORRUPT;
  return { memberID: a.memberId, alarm };
}

/**
 * etcd's Maintenance service over the same parts as cairn.v1's: the member's Raft status,
 * the replicated alarms, the engine's files and backups. Hash digests the store's content
 * (store-hash.ts), not a bbolt file; Downgrade answers as an etcd with no version to go
 * down to (downgrade.ts).
 */
export function etcdMaintenanceService(deps: EtcdMaintenanceDeps): MaintenanceServer {
  const { store, logger, engine, alarms } = deps;
  const version = etcdVersionString(deps.cairnVersion);
  const alarmList = (): AlarmMember[] => alarms.list().map(toEtcdAlarm);

  return {
    status: etcdUnary(logger, 'Status', async () => {
      const [dbSize, dbSizeInUse] = await Promise.all([engine.diskBytes(), engine.liveDataBytes()]);
      const s = deps.status();
      const errors: string[] = [];
      if (s.leader === 0) errors.push('etcdserver: no leader');
      // As etcd prints an AlarmMember (protobuf text format).
      for (const a of alarmList()) errors.push(`memberID:${a.memberID} alarm:${alarmTypeToJSON(a.alarm)}`);
      return {
        header: deps.header(),
        version,
        dbSize,
        leader: s.leader,
        // Whatever is applied was committed: a commit index read before the applied one moved on is raised to it.
        raftIndex: Math.max(s.commit, s.applied),
        raftTerm: s.term,
        raftAppliedIndex: s.applied,
        errors,
        dbSizeInUse: dbSizeInUse || dbSize,
        isLearner: s.learner,
        storageVersion: ETCD_STORAGE_VERSION,
        dbSizeQuota: deps.quotaBytes,
        downgradeInfo: { enabled: false, targetVersion: '' },
      };
    }),
    alarm: etcdUnary(logger, 'Alarm', async (req) => {
      switch (req.action) {
        case AlarmRequest_AlarmAction.GET:
          return { header: deps.header(), alarms: alarmList() };
        case AlarmRequest_AlarmAction.ACTIVATE: {
          if (req.alarm === AlarmType.NONE) throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'activate needs an alarm type');
          await alarms.arm(req.memberID, toCairnAlarm(req.alarm));
          return { header: deps.header(), alarms: [{ memberID: req.memberID, alarm: req.alarm }] };
        }
        case AlarmRequest_AlarmAction.DEACTIVATE: {
          // etcd answers with the alarms it ended.
          const ending = alarmList().filter((a) => a.memberID === req.memberID && (req.alarm === AlarmType.NONE || a.alarm === req.alarm));
          await alarms.disarm(req.memberID, toCairnAlarm(req.alarm));
          return { header: deps.header(), alarms: ending };
        }
        default:
          throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `unknown alarm action ${req.action}`);
      }
    }),
    defragment: etcdUnary(logger, 'Defragment', async () => {
      // The engine runs one defragment at a time; a second request waits for the running one.
      const { method, writePauseMs, copiedBytes } = await engine.defragment();
      logger.info({ method, writePauseMs, copiedBytes }, 'defragmented the engine files (etcd API)');
      return { header: deps.header() };
    }),
    hash: etcdUnary(logger, 'Hash', async () => {
      const { hash, revision } = await hashStoreContent(store, { maxValueBytes: deps.maxValueBytes });
      return { header: { ...deps.header(), revision }, hash };
    }),
    hashKv: etcdUnary(logger, 'HashKV', async (req) => {
      store.checkReadable(req.revision > 0 ? req.revision : store.currentRevision);
      const { hash, revision } = await hashKeySpace(store, req.revision, { maxValueBytes: deps.maxValueBytes });
      // etcd's hash is a uint32: the digest's first four bytes, equal on members that agree.
      return {
        header: deps.header(),
        hash: Buffer.from(hash, 'hex').readUInt32BE(0),
        // etcd's compacted revision is -1 until the first compaction.
        compactRevision: store.compactedRevision > 0 ? store.compactedRevision : -1,
        hashRevision: revision,
      };
    }),
    snapshot: etcdSnapshotHandler({
      backup: deps.backups.backup,
      estimateBytes: async () => (await engine.liveDataBytes()) || (await engine.diskBytes()),
      header: deps.header,
      version,
      slots: deps.backups.slots,
      logger,
    }),
    moveLeader: etcdUnary(logger, 'MoveLeader', async (req) => {
      const s = deps.status();
      // As etcd: only the leader hands leadership over (etcdctl move-leader finds it).
      if (s.leader !== s.id) throw new EtcdStatusError(ETCD_ERRORS.notLeader);
      if (req.targetID === s.id || !deps.mover.memberIds().includes(req.targetID))
        throw new EtcdStatusError(ETCD_ERRORS.badLeaderTransferee);
      await deps.mover.moveLeader(req.targetID);
      return { header: deps.header() };
    }),
    // etcdDowngrade throws for every action but CANCEL; etcdUnary turns that into the call's status.
    downgrade: etcdUnary(logger, 'Downgrade', (req) =>
      Promise.resolve({ header: deps.header(), version: etcdDowngrade(req, ETCD_CLUSTER_VERSION) }),
    ),
  };
}
