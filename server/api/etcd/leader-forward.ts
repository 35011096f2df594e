import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { ClusterClient } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { EtcdStatusError } from './rpctypes.js';

/**
 * Marks a call one member forwarded to the leader, so that the leader answers it rather
 * than forwarding it again (a leader that changed meanwhile answers "not leader"). It grants
 * nothing: the forwarded call carries the client's own token and is authorized again.
 */
export const ETCD_FORWARDED_HEADER = 'cairn-etcd-forwarded';

type ClusterMethod = 'memberAdd' | 'memberRemove' | 'memberPromote';

/**
 * etcd serves membership changes on any member (its server proposes them through Raft);
 * Cairn makes them on the leader. etcd's Cluster service on a follower therefore sends the
 * call on to the leader, as the client sent it (same request, same token).
 */
export class ClusterLeaderForwarder {
  constructor(
    private readonly credentials: ChannelCredentials,
    private readonly timeoutMs: number,
  ) {}

  static wasForwarded(metadata: Metadata): boolean {
    return metadata.get(ETCD_FORWARDED_HEADER).length > 0;
  }

  forward<Req, Res>(leaderAddress: string, method: ClusterMethod, request: Req, incoming: Metadata): Promise<Res> {
    const metadata = new Metadata();
    for (const token of incoming.get('token')) metadata.add('token', token);
    metadata.set(ETCD_FORWARDED_HEADER, '1');
    const client = new ClusterClient(leaderAddress, this.credentials);
    const call = client[method].bind(client) as unknown as (
      req: Req,
      md: Metadata,
      options: { deadline: number },
      cb: (err: ServiceError | null, res: Res) => void,
    ) => void;
    return new Promise<Res>((resolve, reject) => {
      call(request, metadata, { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        client.close();
        // The leader's answer, etcd's status and message as it sent them.
        if (err !== null) reject(new EtcdStatusError({ code: err.code, message: err.details }));
        else resolve(res);
      });
    });
  }
}
