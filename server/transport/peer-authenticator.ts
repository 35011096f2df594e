/**
 * Who may speak on the Raft peer service. With TLS, a peer proves it is a member by its
 * certificate: verified by TLS, issued by the peer CA, and naming the member in a
 * subjectAltName (DNS `<name>` or URI `urn:cairn:member:<name>`). Every message of its
 * stream must then be from that member. A certificate naming several members (one shared by
 * all, say) may speak for any of them, one member per stream. The cluster id is never a
 * credential: every client response header carries it.
 */
import type { X509Certificate } from 'node:crypto';
import type { NodeId } from '../raft/types.js';
import { TransportError, TransportErrorCode } from './errors.js';
import { describeCertificate, verifiedPeerCertificate, type CallWithAuthContext, type VerifiedCertificate } from './peer-certificate.js';

/** The SAN URI form that names a member, for certificates whose DNS names are host names. */
export const MEMBER_URI_PREFIX = 'urn:cairn:member:';

export interface PeerAuthenticator {
  /**
   * The members a call may speak for, or undefined when anyone may (no TLS: development on
   * loopback). Throws TransportError PeerNotAuthenticated, with the certificate's subject
   * in its message, when the caller proves no membership.
   */
  membersFor(call: CallWithAuthContext): ReadonlySet<NodeId> | undefined;
}

export interface PeerMember {
  readonly id: NodeId;
  readonly name: string;
}

/** No TLS: the peer service trusts the network (members refuse non-loopback addresses then). */
export const TRUST_THE_NETWORK: PeerAuthenticator = { membersFor: () => undefined };

export class CertificatePeerAuthenticator implements PeerAuthenticator {
  constructor(
    /** The current members. */
    private readonly members: () => readonly PeerMember[],
    /** The peer CA's certificates; a peer's certificate must be issued by one of them. */
    private readonly peerAuthorities: () => readonly X509Certificate[],
  ) {}

  membersFor(call: CallWithAuthContext): ReadonlySet<NodeId> {
    const cert = verifiedPeerCertificate(call);
    if (cert === undefined) {
      throw new TransportError(
        TransportErrorCode.PeerNotAuthenticated,
        'the raft peer service needs a member certificate, and the caller presented no verified certificate',
      );
    }
    if (!this.peerAuthorities().some((ca) => issuedBy(cert, ca))) {
      throw new TransportError(
        TransportErrorCode.PeerNotAuthenticated,
        `certificate ${describeCertificate(cert)} is not issued by the peer CA (--peer-trusted-ca-file); refused on the raft peer service`,
      );
    }
    const ids = new Set<NodeId>();
    for (const m of this.members()) if (names(cert, m.name)) ids.add(m.id);
    if (ids.size === 0) {
      throw new TransportError(
        TransportErrorCode.PeerNotAuthenticated,
        `certificate ${describeCertificate(cert)} names no member of this cluster (subjectAltName DNS:<name> or URI:${MEMBER_URI_PREFIX}<name>); refused on the raft peer service`,
      );
    }
    return ids;
  }
}

function names(cert: VerifiedCertificate, member: string): boolean {
  return cert.dnsNames.includes(member) || cert.uris.includes(`${MEMBER_URI_PREFIX}${member}`);
}

/** TLS verified the chain against all trusted CAs; this narrows it to the peer CA (direct issuer). */
function issuedBy(cert: VerifiedCertificate, ca: X509Certificate): boolean {
  return cert.x509.checkIssued(ca) && cert.x509.verify(ca.publicKey);
}
