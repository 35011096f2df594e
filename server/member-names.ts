import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { memberList } from './join-cluster.js';
import type { ClusterMember } from './node/cluster-config.js';
import type { Membership } from './node/membership.js';

export interface MemberNamesOptions {
  readonly membership: Membership;
  /** How this member dials peers (their member certificate with TLS). */
  readonly credentials?: ChannelCredentials;
  /** A name and address learned: the caller adds the transport peer and saves the records. */
  readonly learned: (members: readonly ClusterMember[]) => void;
  /** Pause between rounds while some member is still unnamed. */
  readonly retryMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

const ADDRESS = /^[^:\s]+:\d+$/;
/** As MemberAdd accepts names: non-empty, without spaces, commas or '='. */
const NAME = /^[^\s,=]+$/;

/**
 * Names and addresses travel in conf-change contexts, in the log. A member that gets the
 * configuration from a snapshot instead (it was down while a member was added and the log
 * was compacted past that change) knows the new member's id but not where it listens, so it
 * could not send it anything. This asks the members it can reach for their member list until
 * every member of the configuration has an address. An answer is checked before it is used:
 * one of the ids looked for, a name as MemberAdd accepts it, and a host:port address.
 */
export class MemberNames {
  private running = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly o: MemberNamesOptions) {}

  /** After a change or a snapshot was applied (and at start): looks up any unnamed member. */
  check(): void {
    if (this.running || this.closed || this.unnamed().length === 0) return;
    this.running = true;
    void this.lookUp().finally(() => {
      this.running = false;
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.wake?.();
  }

  private unnamed(): number[] {
    const self = this.o.membership.self.id;
    return this.o.membership
      .list()
      .filter((m) => m.id !== self && m.address === '')
      .map((m) => m.id);
  }

  private async lookUp(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const wanted = new Set(this.unnamed());
      if (wanted.size === 0) return;
      this.o.logger.info(
        { members: [...wanted] },
        'the configuration names members of unknown address (learned from a snapshot); asking the others',
      );
      const self = this.o.membership.self.id;
      const askable = this.o.membership.list().filter((m) => m.id !== self && m.address !== '');
      for (const peer of askable) {
        if (this.closed || wanted.size === 0) break;
        try {
          const res = await memberList(peer.address, this.o.credentials ?? grpcCredentials.createInsecure(), this.o.timeoutMs);
          const found = res.members
            .filter((m) => wanted.has(m.id) && NAME.test(m.name) && ADDRESS.test(m.address))
            .map((m) => ({ id: m.id, name: m.name, address: m.address }));
          for (const m of found) {
            wanted.delete(m.id);
            this.o.membership.learn(m);
          }
          if (found.length > 0) {
            this.o.logger.info({ members: found, from: peer.name }, 'learned the names and addresses of members');
            this.o.learned(found);
          }
        } catch (err) {
          this.o.logger.debug({ err, peer: peer.name }, 'could not ask a member for the member list');
        }
      }
      if (wanted.size === 0 || this.closed) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.o.retryMs);
        this.timer.unref();
      });
      this.wake = undefined;
    }
  }
}
