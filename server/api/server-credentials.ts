/**
 * The credentials of the member's one gRPC server. With TLS it presents --cert-file and asks
 * every caller for a certificate, verified against the client CA and the peer CA together
 * (one port serves both): with --client-cert-auth a caller without a valid one is refused
 * in the handshake; without it, such a caller is served as an anonymous client, and its
 * certificate, unverified, is invisible to handlers (grpc-js reports only verified ones),
 * so it can never pass for a peer. When the files change, new connections get the new
 * secure context (grpc-js calls setSecureContext); open ones keep theirs.
 */
import { ServerCredentials } from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import type { CertificateFiles } from '../transport/certificate-files.js';

class ReloadingServerCredentials extends ServerCredentials {
  constructor(files: CertificateFiles, clientCertAuth: boolean) {
    super({ requestCert: files.hasAuthorities, rejectUnauthorized: clientCertAuth }, contextOf(files));
    // Called at once (ignored: the context above is current) and on every change of the files.
    files.addIdentityCertificateListener(() => this.updateSecureContextOptions(contextOf(files)));
  }

  override _equals(other: ServerCredentials): boolean {
    return this === other;
  }
}

function contextOf(files: CertificateFiles): SecureContextOptions {
  return files.secureContextOptions();
}

/** Plaintext when `files` is undefined (development), TLS otherwise. */
export function serverCredentials(files: CertificateFiles | undefined, clientCertAuth: boolean): ServerCredentials {
  return files === undefined ? ServerCredentials.createInsecure() : new ReloadingServerCredentials(files, clientCertAuth);
}
