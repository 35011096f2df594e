import { credentials as grpcCredentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ClusterServiceClient, type MemberListResponse } from '../gen/ts/cairn/v1/cluster.js';
import type { Membership } from './node/membership.js';
import type { NodeId } from './raft/types.js';

/** One lookup per unknown member at a time, and not more often than this. */
const RETRY_MS = 1_000;

/**
 * Finds the address of a member this one must answer but does not know yet (etcd's
 * "remotes"). A member that lags behind a membership change can be led by a member added
 * in an entry it has not applied: its answers had nowhere to go and were dropped, so the
 * leader never learned what it lacked (not even that it needs a snapshot) and it never
 * caught up (found by the chaos membership nemesis). The cluster's member list, asked of
 * the members it does know (MemberList is open to all), names the address; the transport
 * then talks to it until the change is applied and makes it a member proper.
 */
export class RemotePeerFinder {
  private readonly lastTry = new Map<NodeId, number>();

  constructor(
    private readonly o: {
      readonly membership: Membership;
      readonly credentials: ChannelCredentials | undefined;
      readonly timeoutMs: number;
      readonly found: (id: NodeId, address: string) => void;
      readonly logger: Logger;
    },
  ) {}

  /** Called for a message to an unknown member; looks it up in the background. */
  find(id: NodeId): void {
    if (this.o.membership.isRemoved(id) || this.o.membership.member(id) !== undefined) return;
    const last = this.lastTry.get(id);
    if (last !== undefined && Date.now() - last < RETRY_MS) return;
    this.lastTry.set(id, Date.now());
    void this.lookUp(id).catch((err: unknown) => this.o.logger.debug({ err, id }, 'could not look up an unknown member'));
  }

  private async lookUp(id: NodeId): Promise<void> {
    const self = this.o.membership.self.id;
    for (const peer of this.o.membership.list()) {
      if (peer.id === self || peer.address === '') continue;
      const client = new ClusterServiceClient(peer.address, this.o.credentials ?? grpcCredentials.createInsecure());
      try {
        const response = await new Promise<MemberListResponse>((resolve, reject) =>
          client.memberList({}, new Metadata(), { deadline: Date.now() + this.o.timeoutMs }, (err, res) =>
            err === null ? resolve(res) : reject(err),
          ),
        );
        const member = response.members.find((m) => m.id === id && m.address !== '');
        if (member !== undefined && !this.o.membership.isRemoved(id)) {
          this.o.logger.info({ id, name: member.name, address: member.address }, 'found the address of a member not applied yet');
          this.o.found(id, member.address);
          return;
        }
      } catch {
        // Try the next member.
      } finally {
        client.close();
      }
    }
  }
}
