/**
 * What a call's verified TLS certificate says about its caller, for the Authorizer:
 * which user it is (--client-cert-auth) and whether it is a member (forwarded lease calls).
 */
import { TransportError } from '../../transport/errors.js';
import type { PeerAuthenticator } from '../../transport/peer-authenticator.js';
import { verifiedPeerCertificate } from '../../transport/peer-certificate.js';
import { NO_CERTIFICATE_USER, type CertificateUser, type MemberCheck } from './authorizer.js';

/**
 * With --client-cert-auth, a call without a token is the user its certificate's CN names,
 * as in etcd. Only certificates TLS verified count, and the CN is only a name: it must name
 * an existing user to be allowed anything. A member's certificate therefore acts as a user
 * only if a user with its CN exists (members name themselves in subjectAltName, and their
 * forwarded calls are recognised by membership, not by user), so give member certificates
 * a CN that is no user's name, or accept that they act as that user.
 */
export function certificateUser(clientCertAuth: boolean): CertificateUser {
  if (!clientCertAuth) return NO_CERTIFICATE_USER;
  return (call) => {
    const cn = verifiedPeerCertificate(call)?.commonName;
    return cn === undefined || cn === '' ? undefined : cn;
  };
}

/** A member is whoever the peer service would accept: a verified certificate naming a current member. */
export function memberByCertificate(authenticator: PeerAuthenticator): MemberCheck {
  return (call) => {
    try {
      authenticator.membersFor(call);
      return true;
    } catch (err) {
      if (err instanceof TransportError) return false;
      throw err;
    }
  };
}
