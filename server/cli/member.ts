/**
 * `cairn member list|add|promote|remove`: the cluster's members and its membership changes,
 * etcdctl's `member` commands. Ids are printed in hex, as etcdctl prints them. Changes go to
 * the leader (see member-calls.ts).
 */
import type { Command } from 'commander';
import type { Member } from './sdk.js';
import { withClient } from './client.js';
import { usageError } from './errors.js';
import { addMember, findLeader, onLeader, promoteMember, removeMember } from './member-calls.js';
import { addClientOptions, type ClientFlags } from './options.js';
import { printJson, printTable, writeLine } from './output.js';

/** A member as `-o json` prints it: the id in hex, as in the table. */
interface MemberJson {
  name: string;
  id: string;
  address: string;
  learner: boolean;
}

const hex = (id: bigint): string => id.toString(16);

function toJson(m: Member): MemberJson {
  return { name: m.name, id: hex(m.id), address: m.address, learner: m.learner };
}

export function printMemberTable(members: readonly Member[]): void {
  const rows = [['ID', 'NAME', 'ADDRESS', 'IS LEARNER'], ...members.map((m) => [hex(m.id), m.name, m.address, String(m.learner)])];
  printTable(rows);
}

/**
 * What the new member must run: its name, where it listens, an empty data dir, and the
 * current members to ask for the cluster (ETCD_INITIAL_CLUSTER's counterpart).
 */
export function joinCommand(added: Member, members: readonly Member[]): string {
  const others = members.filter((m) => m.id !== added.id && m.address !== '').map((m) => m.address);
  return `cairn serve --name ${added.name} --listen ${added.address} --data-dir ${added.name}.cairn --join ${others.join(',')}`;
}

/** A member named on the command line: by name, or by its hex id. */
function resolve(members: readonly Member[], wanted: string): Member {
  const found = members.find((m) => m.name === wanted) ?? members.find((m) => hex(m.id) === wanted.toLowerCase());
  if (found === undefined) {
    const names = members.map((m) => m.name).join(', ');
    throw usageError(`no member named ${wanted} (or with that hex id); the members are: ${names}`);
  }
  return found;
}

export function registerMember(program: Command): void {
  const member = program.command('member').description('list the members, add, promote or remove one');

  addClientOptions(member.command('list').description('list the members: id (hex), name, address, learner or voter')).action(
    async (flags: ClientFlags) => {
      const members = await withClient(flags, (c) => c.memberList());
      if (flags.output === 'json') printJson(members.map(toJson));
      else printMemberTable(members);
    },
  );

  addClientOptions(
    member
      .command('add')
      .description('add a member as a learner; prints the command that starts it (then promote it once it caught up)')
      .argument('<name>', "the new member's --name (a removed member's name cannot be used again)")
      .requiredOption('--address <host:port>', 'where the new member will serve clients and peers'),
  ).action(async (name: string, flags: ClientFlags & { address: string }) => {
    const response = await onLeader(flags, (client) => addMember(client, name, flags.address));
    const added = response.member!;
    const join = joinCommand(added, response.members);
    if (flags.output === 'json') {
      printJson({ member: toJson(added), members: response.members.map(toJson), join });
      return;
    }
    writeLine(`Member ${added.name} (id ${hex(added.id)}) added to cluster ${hex(response.header?.clusterId ?? 0n)} as a learner.`);
    writeLine();
    writeLine('Start it, with an empty data dir, by running on its machine:');
    writeLine(`  ${join}`);
    writeLine(`Then, once it has caught up: cairn member promote ${added.name}`);
  });

  addClientOptions(
    member
      .command('promote')
      .description('make a learner a voter; refused, saying how far behind, until it has caught up with the leader')
      .argument('<member>', 'name or hex id of the learner'),
  ).action(async (wanted: string, flags: ClientFlags) => {
    const target = resolve((await findLeader(flags)).members, wanted);
    const response = await onLeader(flags, (client) => promoteMember(client, target.id));
    if (flags.output === 'json') printJson({ members: response.members.map(toJson) });
    else writeLine(`Member ${target.name} (id ${hex(target.id)}) promoted to a voter.`);
  });

  addClientOptions(
    member
      .command('remove')
      .description('remove a member (the leader hands leadership over first); the removed member stops')
      .argument('<member>', 'name or hex id of the member'),
  ).action(async (wanted: string, flags: ClientFlags) => {
    const target = resolve((await findLeader(flags)).members, wanted);
    const response = await onLeader(flags, (client) => removeMember(client, target.id));
    if (flags.output === 'json') printJson({ members: response.members.map(toJson) });
    else writeLine(`Member ${target.name} (id ${hex(target.id)}) removed from the cluster.`);
  });
}
