/** How the CLI prints alarms (`cairn alarm list`, `cairn status`). */
import { AlarmType, type AlarmMember } from './sdk.js';

/** CORRUPT, NOSPACE: the alarm's type as etcdctl prints it. */
export function alarmName(type: AlarmType): string {
  return AlarmType[type]?.replace('ALARM_TYPE_', '') ?? String(type);
}

/** One line per alarm: `memberID:<id> (<name>) alarm:CORRUPT detail:<...>`. */
export function alarmLine(alarm: AlarmMember, names: ReadonlyMap<bigint, string>): string {
  const name = names.get(alarm.memberId);
  return `memberID:${alarm.memberId}${name === undefined ? '' : ` (${name})`} alarm:${alarmName(alarm.alarm)}${alarm.detail === '' ? '' : ` detail:${alarm.detail}`}`;
}
