/** `cairn alarm list` / `cairn alarm disarm`: the cluster's alarms, in etcdctl's shapes. */
import type { Command } from 'commander';
import { AlarmAction, AlarmType, MaintenanceServiceClient, type AlarmsResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { alarmLine } from './alarm-format.js';
import { withClient } from './client.js';
import { usageError } from './errors.js';
import { addClientOptions, parseEndpoints, type ClientFlags } from './options.js';
import { render, writeLine } from './output.js';
import { call, memberList } from './status.js';
import { clientCredentials } from './tls.js';

const TYPES: Record<string, AlarmType> = { corrupt: AlarmType.ALARM_TYPE_CORRUPT, nospace: AlarmType.ALARM_TYPE_NOSPACE };

interface DisarmFlags extends ClientFlags {
  member?: string;
  type?: string;
}

async function alarms(flags: ClientFlags, action: AlarmAction, memberId = 0, alarm = AlarmType.ALARM_TYPE_UNSPECIFIED): Promise<void> {
  const endpoints = parseEndpoints(flags.endpoints);
  const creds = clientCredentials(flags);
  const list = await memberList(endpoints, flags.commandTimeout, creds);
  const names = new Map(list.members.map((m) => [m.id, m.name]));
  // Alarms needs the root role once authentication is on.
  const metadata = await withClient(flags, (c) => c.callMetadata());
  const client = new MaintenanceServiceClient(endpoints[0]!, creds);
  try {
    const response = await call<AlarmsResponse>((cb) =>
      client.alarms({ action, memberId, alarm }, metadata, { deadline: Date.now() + flags.commandTimeout }, cb),
    );
    render(flags.output, response, () => {
      if (action === AlarmAction.ALARM_ACTION_DISARM)
        writeLine(response.alarms.length === 0 ? 'disarmed; no alarm is active' : 'disarmed; still active:');
      for (const a of response.alarms) writeLine(alarmLine(a, names));
    });
  } finally {
    client.close();
  }
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
    let memberId = 0;
    if (flags.member !== undefined) {
      const list = await memberList(parseEndpoints(flags.endpoints), flags.commandTimeout, clientCredentials(flags));
      const member = list.members.find((m) => m.name === flags.member || String(m.id) === flags.member);
      if (member === undefined)
        throw usageError(`no member named or numbered ${flags.member}; members: ${list.members.map((m) => m.name).join(', ')}`);
      memberId = member.id;
    }
    let type = AlarmType.ALARM_TYPE_UNSPECIFIED;
    if (flags.type !== undefined) {
      const found = TYPES[flags.type.toLowerCase()];
      if (found === undefined) throw usageError(`unknown alarm type ${flags.type}; one of: ${Object.keys(TYPES).join(', ')}`);
      type = found;
    }
    await alarms(flags, AlarmAction.ALARM_ACTION_DISARM, memberId, type);
  });
}
