import type { ResponseHeader } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import type { HeaderFactory } from '../../apply/outcome.js';

/** Builds etcd's response header for a revision (the store's current one for calls that read none). */
export type EtcdHeaderFactory = (revision: number) => ResponseHeader;

/**
 * etcd's ResponseHeader from the member's own: the same cluster id, member id, revision and
 * Raft term (both headers have the same four fields; Cairn's ids are below 2^53, so they
 * fit the generated number fields exactly).
 */
export function etcdHeaderFactory(header: HeaderFactory): EtcdHeaderFactory {
  return (revision) => {
    const { clusterId, memberId, raftTerm } = header(revision);
    return { clusterId, memberId, revision, raftTerm };
  };
}

/** etcd's header from one Cairn has already built (a write's, a txn's). */
export function toEtcdHeader(
  header: { clusterId: number; memberId: number; revision: number; raftTerm: number } | undefined,
): ResponseHeader | undefined {
  return header === undefined
    ? undefined
    : { clusterId: header.clusterId, memberId: header.memberId, revision: header.revision, raftTerm: header.raftTerm };
}
