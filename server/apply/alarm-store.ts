import { AlarmRecord, type AlarmCommand } from '../../gen/ts/cairn/internal/v1/command.js';
import { AlarmType, type AlarmMember } from '../../gen/ts/cairn/v1/maintenance.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { WriteBatch } from '../mvcc/write-batch.js';
import type { ScanRange, StorageEngine } from '../storage/engine.js';

/**
 * Where alarms live in the node database: inside the 'm' (store metadata) keyspace, like
 * the auth records, so that they are written in the same atomic batch as the applied
 * index, shipped in snapshots and replaced by them:
 *
 *   'malarm/' + type(2, big-endian) + member id(8, big-endian)   AlarmRecord
 */
const PREFIX = 'malarm/';
const ALARM_SPAN: ScanRange = { gte: Buffer.from(PREFIX), lt: Buffer.from('malarm0') };

function alarmKey(type: AlarmType, memberId: number): Buffer {
  const key = Buffer.alloc(PREFIX.length + 10);
  key.write(PREFIX, 0, 'latin1');
  key.writeUInt16BE(type, PREFIX.length);
  key.writeBigUInt64BE(BigInt(memberId), PREFIX.length + 2);
  return key;
}

/**
 * The cluster's active alarms, as applied from the log: the same list on every member, so
 * that every member refuses writes while a CORRUPT alarm is active (etcd's alarm store).
 * Several types may be active at once (NOSPACE joins with the space quota).
 */
export class AlarmStore {
  private alarms = new Map<string, AlarmRecord>();

  /** Loads the stored alarms; also after a snapshot from the leader replaced them. */
  async load(engine: StorageEngine): Promise<void> {
    const alarms = new Map<string, AlarmRecord>();
    for await (const [key, value] of engine.scan(ALARM_SPAN)) alarms.set(key.toString('hex'), AlarmRecord.decode(value));
    this.alarms = alarms;
  }

  /** The active alarms, by member id then type. */
  list(): AlarmMember[] {
    return [...this.alarms.values()]
      .sort((a, b) => a.memberId - b.memberId || a.alarm - b.alarm)
      .map((a) => ({ memberId: a.memberId, alarm: a.alarm, detail: a.detail }));
  }

  /** Whether an alarm of this type is active for the member (any member when memberId is omitted). */
  active(type: AlarmType, memberId?: number): boolean {
    for (const alarm of this.alarms.values())
      if (alarm.alarm === type && (memberId === undefined || alarm.memberId === memberId)) return true;
    return false;
  }

  /** The error a write gets while an alarm stops writes, or undefined. */
  writeRefusal(): CairnError | undefined {
    const corrupt = this.list().filter((a) => a.alarm === AlarmType.ALARM_TYPE_CORRUPT);
    if (corrupt.length === 0) return undefined;
    const members = corrupt.map((a) => a.memberId.toString()).join(', ');
    return new CairnError(
      ErrorCode.ERROR_CODE_CORRUPT,
      `writes are refused: a CORRUPT alarm is active for member(s) ${members} (their key space differs from the others'); ` +
        `repair the member (cairn serve --discard-local-data-and-rejoin), then 'cairn alarm disarm'; see 'cairn alarm list'`,
    );
  }

  /**
   * The error a write that adds data (apply/adds-data.ts) gets while a NOSPACE alarm is
   * active, or undefined. The alarm's detail names the member's usage and its quota.
   */
  spaceRefusal(): CairnError | undefined {
    const nospace = this.list().filter((a) => a.alarm === AlarmType.ALARM_TYPE_NOSPACE);
    if (nospace.length === 0) return undefined;
    const members = nospace.map((a) => `member ${a.memberId}${a.detail === '' ? '' : ` (${a.detail})`}`).join('; ');
    return new CairnError(
      ErrorCode.ERROR_CODE_NO_SPACE,
      `writes that add data are refused: a NOSPACE alarm is active: ${members}. ` +
        `Free space (delete keys, 'cairn compact --physical <revision>', then defragment the member) ` +
        `or restart the members with a larger --quota-backend-bytes; the alarm clears itself once usage is back under the quota, ` +
        `and reads, deletes, compaction and lease revokes work meanwhile`,
    );
  }

  /** Applies an alarm command: updates memory and adds the stored records to the batch. */
  apply(batch: WriteBatch, command: AlarmCommand): void {
    if (command.activate) {
      if (command.alarm === AlarmType.ALARM_TYPE_UNSPECIFIED || command.memberId === 0) {
        throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'an alarm needs a type and a member');
      }
      const key = alarmKey(command.alarm, command.memberId);
      const record: AlarmRecord = { memberId: command.memberId, alarm: command.alarm, detail: command.detail };
      this.alarms.set(key.toString('hex'), record);
      batch.ops.push({ type: 'put', key, value: Buffer.from(AlarmRecord.encode(record).finish()) });
      return;
    }
    for (const [hex, alarm] of [...this.alarms]) {
      if (command.memberId !== 0 && alarm.memberId !== command.memberId) continue;
      if (command.alarm !== AlarmType.ALARM_TYPE_UNSPECIFIED && alarm.alarm !== command.alarm) continue;
      this.alarms.delete(hex);
      batch.ops.push({ type: 'del', key: Buffer.from(hex, 'hex') });
    }
  }
}
