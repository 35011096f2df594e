/** `cairn alarm list` / `cairn alarm disarm`: the cluster's alarms, in etcdctl's shapes. */
import type { Command } from 'commander';
import { AlarmAction, AlarmType, type AlarmsResponse } from './sdk.js';
import { alarmLine } from './alarm-format.js';
import { rawCall, withClient } from './client.js';
import { usageError } from './errors.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { findMember } from './status.js';

const TYPES: Record<string, AlarmType> = { corrupt: AlarmType.ALARM_TYPE_CORRUPT, nospace: AlarmType.ALARM_TYPE_NOSPACE };

interface DisarmFlags extends ClientFlags {
  member?: string;
  type?: string;
}

async function alarms(flags: ClientFlags, action: AlarmAction, member?: string, alarm = AlarmType.ALARM_TYPE_UNSPECIFIED): Promise<void> {
  await withClient(flags, async (client) => {
    const members = await client.members();
    const names = new Map(members.map((m) => [m.id, m.name]));
    const memberId = member === undefined ? 0n : findMember(members, member).id;
    // Alarms needs the root role once authentication is on: the client sends --user's token.
    const response = await rawCall<AlarmsResponse>(client, action === AlarmAction.ALARM_ACTION_LIST ? 'read' : 'write', (c, cb) =>
      c.member.maintenance.alarms({ action, memberId, alarm }, c.metadata, { deadline: c.deadline }, cb),
    );
    render(flags.output, response, () => {
      if (action === AlarmAction.ALARM_ACTION_DISARM)
        writeLine(response.alarms.length === 0 ? 'disarmed; no alarm is active' : 'disarmed; still active:');
      for (const a of response.alarms) writeLine(alarmLine(a, names));
    });
  });
}

export function registerAlarm(program: Command): void {
  const alarm = program.command('alarm').description("the cluster's alarms (a CORRUPT alarm stops every write)");
  addClientOptions(alarm.command('list').description('list the active alarms')).action((flags: ClientFlags) =>
    alarms(flags, AlarmAction.ALARM_ACTION_LIST),
  );
  addClientOptions(
    alarm
      .command('disarm')
      .description('end alarms (all of them unless --member or --type narrow it); repair the member first')
      .option('--member <name|id>', "only this member's alarms")
      .option('--type <type>', 'only alarms of this type: corrupt or nospace'),
  ).action(async (flags: DisarmFlags) => {
    let type = AlarmType.ALARM_TYPE_UNSPECIFIED;
    if (flags.type !== undefined) {
      const found = TYPES[flags.type.toLowerCase()];
      if (found === undefined) throw usageError(`unknown alarm type ${flags.type}; one of: ${Object.keys(TYPES).join(', ')}`);
      type = found;
    }
    await alarms(flags, AlarmAction.ALARM_ACTION_DISARM, flags.member, type);
  });
}
