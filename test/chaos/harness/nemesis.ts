/**
 * Faults on a seeded schedule, one at a time: kill -9 and restart, SIGSTOP/SIGCONT, network
 * partitions through the link proxies (isolate a member, split a minority off, cut one
 * direction only), slow links, flaky links (connections reset over and over), and
 * membership changes (membership-nemesis.ts: add a learner, promote it, remove a voter,
 * sometimes the leader). Targets the leader half of the time. Links are proxied only
 * between the members the cluster started with, so network faults pick among those.
 */
import type { ChaosCluster } from './cluster.js';
import type { ClientPool } from './clients.js';
import { MembershipNemesis } from './membership-nemesis.js';
import type { Rng } from './rng.js';

export const NEMESES = ['kill', 'pause', 'partition', 'delay', 'flaky', 'membership'] as const;
export type NemesisKind = (typeof NEMESES)[number];

export interface NemesisEvent {
  /** Milliseconds since the run began. */
  readonly at: number;
  healedAt: number;
  readonly what: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  private stopped = false;
  private readonly membership: MembershipNemesis;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly pool: ClientPool,
    private readonly kinds: readonly NemesisKind[],
    private readonly rng: Rng,
    private readonly startedAt: number,
  ) {
    this.membership = new MembershipNemesis(cluster, pool, rng, () => this.leader(), cluster.founders.size);
  }

  stop(): void {
    this.stopped = true;
  }

  /** Injects faults until stop() or `until` (Date.now() ms); always leaves everything healed. */
  async run(until: number): Promise<void> {
    try {
      // Membership changes alternate with the other faults, so that a short run makes several.
      const faults = this.kinds.filter((k) => k !== 'membership');
      const membership = this.kinds.includes('membership');
      for (let n = 0; !this.stopped && Date.now() < until; n++) {
        const kind = membership && (faults.length === 0 || n % 2 === 1) ? 'membership' : this.rng.pick(faults);
        await this.step(kind, until);
        await this.hold(this.rng.between(1000, 2000), until);
      }
    } finally {
      await this.cluster.healAll();
    }
  }

  /** The member that says it leads with the highest term, if any answers. */
  async leader(): Promise<string | undefined> {
    const live = this.cluster.members.filter((m) => m.running && !m.paused);
    const answers = await Promise.all(
      live.map((m) =>
        this.pool
          .get(m.name)
          .status(500)
          .catch(() => undefined),
      ),
    );
    let best: { name: string; term: number } | undefined;
    for (const s of answers)
      if (s?.role === 'leader' && (best === undefined || s.raftTerm > best.term)) best = { name: s.name, term: s.raftTerm };
    return best?.name;
  }

  private async target(): Promise<string> {
    const names = this.cluster.members.map((m) => m.name);
    if (this.rng.next() < 0.5) {
      const leader = await this.leader();
      if (leader !== undefined) return leader;
    }
    return this.rng.pick(names);
  }

  private async hold(ms: number, until: number): Promise<void> {
    const end = Math.min(Date.now() + ms, until);
    while (!this.stopped && Date.now() < end) await sleep(Math.min(100, end - Date.now()));
  }

  private record(what: string): NemesisEvent {
    const e = { at: Date.now() - this.startedAt, healedAt: 0, what };
    this.events.push(e);
    return e;
  }

  private async step(kind: NemesisKind, until: number): Promise<void> {
    if (kind === 'membership') {
      const at = Date.now() - this.startedAt;
      const what = await this.membership.step();
      this.events.push({ at, healedAt: Date.now() - this.startedAt, what });
      return;
    }
    const all = this.cluster.members.map((m) => m.name);
    // Peer links are proxied only between founders: network faults pick among those still here.
    const linked = all.filter((n) => this.cluster.founders.has(n));
    const networked = kind === 'partition' || kind === 'delay' || kind === 'flaky';
    if (networked && linked.length < 2) {
      const e = this.record(`${kind} skipped: fewer than two of the first members are left`);
      e.healedAt = e.at;
      return;
    }
    const names = networked ? linked : all;
    let t = await this.target();
    if (!names.includes(t)) t = this.rng.pick(names);
    const others = names.filter((n) => n !== t);
    let e: NemesisEvent;
    switch (kind) {
      case 'kill': {
        const m = this.cluster.member(t);
        e = this.record(`kill -9 ${t}`);
        await m.kill();
        await this.hold(this.rng.between(500, 3000), until);
        await m.start();
        break;
      }
      case 'pause': {
        const m = this.cluster.member(t);
        e = this.record(`SIGSTOP ${t}`);
        m.pause();
        await this.hold(this.rng.between(1000, 4000), until);
        m.resume();
        break;
      }
      case 'partition': {
        const variant = this.rng.pick(names.length >= 5 ? ['isolate', 'one-way', 'split'] : ['isolate', 'one-way']);
        if (variant === 'isolate') {
          e = this.record(`isolate ${t}`);
          this.cluster.partition([t], others);
        } else if (variant === 'one-way') {
          e = this.record(`cut ${t}'s outgoing peer links`);
          for (const o of others) this.cluster.link(t, o).block();
        } else {
          const minority = [t, this.rng.pick(others)];
          const majority = names.filter((n) => !minority.includes(n));
          e = this.record(`split ${minority.join(',')} | ${majority.join(',')}`);
          this.cluster.partition(minority, majority);
        }
        await this.hold(this.rng.between(2000, 5000), until);
        this.cluster.healNetwork();
        break;
      }
      case 'delay': {
        const ms = Math.round(this.rng.between(20, 150));
        e = this.record(`delay every peer link by ${ms} ms`);
        for (const p of this.cluster.proxies.values()) p.delay(ms);
        await this.hold(this.rng.between(2000, 4000), until);
        this.cluster.healNetwork();
        break;
      }
      case 'flaky': {
        e = this.record(`reset ${t}'s peer connections every 200-500 ms`);
        const end = Date.now() + this.rng.between(2000, 4000);
        while (!this.stopped && Date.now() < Math.min(end, until)) {
          for (const o of others) {
            this.cluster.link(t, o).drop();
            this.cluster.link(o, t).drop();
          }
          await this.hold(this.rng.between(200, 500), until);
        }
        break;
      }
    }
    e.healedAt = Date.now() - this.startedAt;
  }
}
