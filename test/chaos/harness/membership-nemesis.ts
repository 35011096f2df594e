/**
 * The membership nemesis: changes who is in the cluster while the other nemeses and the
 * workload run. Each step takes the cluster one phase along a cycle that keeps it between
 * its starting size and one more voter, so a quorum always survives one more fault:
 *
 *   grow:   MemberAdd a learner (a fresh name), start it with `cairn serve --join`, wait
 *           until it caught up (MemberPromote answers LEARNER_NOT_READY until then) and
 *           promote it;
 *   shrink: MemberRemove a voter, the leader half of the time, and stop its process.
 *
 * Removing and growing again re-adds a machine under a new name, as an operator must (ids
 * are never reused). An added member dials the others at the addresses the member it
 * joined through knows them by (that member's link proxies), so network faults on that
 * member's links reach it too. Every call goes to the member that says it leads; a call refused
 * (no leader yet, another change pending) or with an unknown outcome (a timeout) is
 * settled by reading the member list, so the harness never loses track of a member.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ClusterServiceClient, type Member as ClusterMember } from '../../../gen/ts/cairn/v1/cluster.js';
import { ErrorCode } from '../../../gen/ts/cairn/v1/errors.js';
import { errorDetails } from '../../helpers/grpc-clients.js';
import type { ClientPool } from './clients.js';
import type { ChaosCluster, Member } from './cluster.js';
import type { Rng } from './rng.js';

const CALL_MS = 5_000;
/** Elections take about an election timeout (1 s in chaos runs); this only bounds a step. */
const LEADER_WAIT_MS = 15_000;
/** A learner catches up by snapshot within seconds; this bound only stops a stuck step. */
const CATCH_UP_MS = 60_000;
/** A removed member stops by itself once it applies its removal; then it is killed anyway. */
const STOP_BY_ITSELF_MS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function call<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

function codeOf(err: unknown): ErrorCode | undefined {
  return typeof (err as ServiceError).code === 'number' ? errorDetails(err as ServiceError)?.info?.code : undefined;
}

function describe(err: unknown): string {
  const e = err as ServiceError;
  return typeof e.code === 'number' ? e.details : String(err);
}

export class MembershipNemesis {
  constructor(
    private readonly cluster: ChaosCluster,
    private readonly pool: ClientPool,
    private readonly rng: Rng,
    /** Finds the member that says it leads. */
    private readonly leader: () => Promise<string | undefined>,
    private readonly voters: number,
  ) {}

  /** One phase of the cycle; returns what it did, for the fault log. */
  async step(): Promise<string> {
    // Right after a healed fault an election may still run: wait for it, within a bound.
    const deadline = Date.now() + LEADER_WAIT_MS;
    let leader = await this.leader();
    while (leader === undefined && Date.now() < deadline) {
      await sleep(200);
      leader = await this.leader();
    }
    if (leader === undefined) return `membership: no leader answered within ${LEADER_WAIT_MS / 1000} s; skipped`;
    const members = await this.list(leader);
    const learner = members.find((m) => m.learner);
    if (learner !== undefined) return this.promote(learner);
    if (members.length > this.voters) return this.remove(leader, members);
    return this.grow(leader);
  }

  private client(name: string): ClusterServiceClient {
    return new ClusterServiceClient(this.cluster.member(name).address, credentials.createInsecure());
  }

  private async list(via: string): Promise<ClusterMember[]> {
    const client = this.client(via);
    try {
      return (
        await call<{ members: ClusterMember[] }>((cb) => client.memberList({}, new Metadata(), { deadline: Date.now() + CALL_MS }, cb))
      ).members;
    } finally {
      client.close();
    }
  }

  /** Sends a change to whoever leads now (leadership may move between tries). */
  private async onLeader<T>(send: (client: ClusterServiceClient) => Promise<T>): Promise<T> {
    const leader = (await this.leader()) ?? this.cluster.members[0]!.name;
    const client = this.client(leader);
    try {
      return await send(client);
    } finally {
      client.close();
    }
  }

  private async grow(leader: string): Promise<string> {
    const member = await this.cluster.newMember();
    let outcome = 'added';
    try {
      await this.onLeader((c) =>
        call((cb) => c.memberAdd({ name: member.name, address: member.address }, new Metadata(), { deadline: Date.now() + CALL_MS }, cb)),
      );
    } catch (err) {
      // Refused, or unknown: the member list says whether it was added.
      const listed = await this.list(leader).catch(() => []);
      if (!listed.some((m) => m.name === member.name)) return `membership: add ${member.name} failed (${describe(err)})`;
      outcome = `added (after ${describe(err)})`;
    }
    this.cluster.admit(member);
    this.pool.add(member.name, member.address);
    await member.start();
    return `membership: ${outcome} ${member.name} as a learner and started it with --join`;
  }

  private async promote(learner: ClusterMember): Promise<string> {
    const member = this.cluster.members.find((m) => m.name === learner.name);
    // A learner whose add looked failed (an unknown outcome after all): start it now.
    if (member !== undefined && !member.running) await member.start();
    const deadline = Date.now() + CATCH_UP_MS;
    for (let tries = 1; ; tries++) {
      try {
        await this.onLeader((c) =>
          call((cb) => c.memberPromote({ id: learner.id }, new Metadata(), { deadline: Date.now() + CALL_MS }, cb)),
        );
        return `membership: promoted ${learner.name} after ${tries} tries`;
      } catch (err) {
        const code = codeOf(err);
        const retry =
          code === ErrorCode.ERROR_CODE_LEARNER_NOT_READY ||
          code === ErrorCode.ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED ||
          code === ErrorCode.ERROR_CODE_NOT_LEADER;
        if (!retry || Date.now() > deadline) return `membership: promote ${learner.name} failed (${describe(err)}); next step retries`;
        await sleep(300);
      }
    }
  }

  private async remove(leader: string, members: readonly ClusterMember[]): Promise<string> {
    const byName = new Map(members.map((m) => [m.name, m]));
    const candidates = members.filter((m) => this.cluster.members.some((c) => c.name === m.name));
    const victim = (this.rng.next() < 0.5 ? byName.get(leader) : undefined) ?? this.rng.pick(candidates);
    const wasLeader = victim.name === leader;
    let outcome = 'removed';
    try {
      await this.onLeader((c) => call((cb) => c.memberRemove({ id: victim.id }, new Metadata(), { deadline: Date.now() + CALL_MS }, cb)));
    } catch (err) {
      const survivor = this.cluster.members.find((m) => m.name !== victim.name)!.name;
      const listed = await this.list(survivor).catch(() => undefined);
      if (listed === undefined || listed.some((m) => m.name === victim.name))
        return `membership: remove ${victim.name} failed (${describe(err)})`;
      outcome = `removed (after ${describe(err)})`;
    }
    const member = this.cluster.retire(victim.name);
    this.pool.remove(victim.name);
    await this.stop(member);
    return `membership: ${outcome} ${victim.name}${wasLeader ? ' (the leader)' : ''}`;
  }

  /** Lets the removed member stop by itself (it does once it applies its removal), then makes sure. */
  private async stop(member: Member): Promise<void> {
    member.resume();
    const deadline = Date.now() + STOP_BY_ITSELF_MS;
    while (member.running && Date.now() < deadline) await sleep(100);
    await member.kill();
  }
}
