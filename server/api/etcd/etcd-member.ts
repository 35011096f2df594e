import type { Member } from '../../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import type { MemberView } from '../../node/membership.js';
import { ETCD_ERRORS, EtcdStatusError } from './rpctypes.js';

/**
 * How Cairn's members look through etcd's API. A Cairn member has an id, a name and one
 * address (host:port) on which it serves both its peers and its clients; an etcd member has
 * an id, a name and lists of peer and client URLs. So:
 * - ID is Cairn's member id (below 2^53, as every id Cairn draws);
 * - peerURLs and clientURLs are both the one URL scheme://address, https when the member
 *   serves TLS;
 * - MemberAdd carries no name in etcd's API (the new member announces it when it starts);
 *   Cairn needs one to add the member, so the member is named by its address (host:port):
 *   start it with `cairn serve --name HOST:PORT --join ...`.
 */
export type UrlScheme = 'http' | 'https';

export function toEtcdMember(m: MemberView, scheme: UrlScheme): Member {
  const url = `${scheme}://${m.address}`;
  return { ID: m.id, name: m.name, peerURLs: [url], clientURLs: [url], isLearner: m.learner };
}

/**
 * The one address a member's peer URLs name: exactly one URL, http or https, host and port,
 * nothing else (etcd's ErrGRPCMemberBadURLs otherwise; Cairn has one address per member).
 */
export function addressOfPeerUrls(peerURLs: readonly string[]): string {
  if (peerURLs.length !== 1) throw new EtcdStatusError(ETCD_ERRORS.memberBadURLs);
  let url: URL;
  try {
    url = new URL(peerURLs[0]!);
  } catch {
    throw new EtcdStatusError(ETCD_ERRORS.memberBadURLs);
  }
  const bare = url.pathname === '/' || url.pathname === '';
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port === '' || !bare || url.search !== '' || url.hash !== '') {
    throw new EtcdStatusError(ETCD_ERRORS.memberBadURLs);
  }
  if (url.username !== '' || url.password !== '') throw new EtcdStatusError(ETCD_ERRORS.memberBadURLs);
  // URL keeps IPv6 literals bracketed, which is how host:port spells them too.
  return `${url.hostname}:${url.port}`;
}
