/**
 * A member's transport security, built from the --cert-file family of flags: the files it
 * watches, what it presents and trusts when dialing peers, and how its peer service tells
 * members from clients. Without --cert-file a member runs in plaintext, which it allows only
 * on a loopback address unless told --insecure-plaintext.
 */
import { credentials as grpcCredentials, experimental, type ChannelCredentials } from '@grpc/grpc-js';
import { isIP } from 'node:net';
import type { TlsOptions } from '../config.js';
import { CertificateFiles } from './certificate-files.js';
import { CertificatePeerAuthenticator, type PeerAuthenticator, type PeerMember } from './peer-authenticator.js';
import type { TransportLogger } from './types.js';

export interface MemberTls {
  /** What the member's server presents and trusts (client CA and peer CA). */
  readonly serverFiles: CertificateFiles;
  /** What the member presents when dialing a peer, and the CAs it trusts there. */
  readonly peerCredentials: ChannelCredentials;
  /** Who may speak for which member on the peer service. */
  readonly authenticator: PeerAuthenticator;
  readonly clientCertAuth: boolean;
  /** Stops re-reading the files. */
  close(): void;
}

/**
 * Checks the flags and loads the files (a missing or mismatched file fails here, naming
 * it). Undefined when TLS is off.
 */
export function memberTls(
  o: TlsOptions,
  members: () => readonly PeerMember[],
  memberCount: number,
  logger?: TransportLogger,
): MemberTls | undefined {
  const on = o.certFile !== '' || o.keyFile !== '';
  if (!on) {
    const stray = (
      [
        ['--trusted-ca-file', o.trustedCaFile !== ''],
        ['--client-cert-auth', o.clientCertAuth],
        ['--peer-cert-file', o.peerCertFile !== ''],
        ['--peer-key-file', o.peerKeyFile !== ''],
        ['--peer-trusted-ca-file', o.peerTrustedCaFile !== ''],
      ] as const
    ).filter(([, set]) => set);
    if (stray.length > 0) throw new Error(`${stray.map(([f]) => f).join(', ')} need TLS on: give --cert-file and --key-file too`);
    return undefined;
  }
  if (o.certFile === '' || o.keyFile === '') throw new Error('TLS needs both --cert-file and --key-file');
  if (o.clientCertAuth && o.trustedCaFile === '')
    throw new Error('--client-cert-auth needs --trusted-ca-file, the CA client certificates must chain to');
  if ((o.peerCertFile === '') !== (o.peerKeyFile === '')) throw new Error('--peer-cert-file and --peer-key-file go together');
  const peerCa = o.peerTrustedCaFile !== '' ? o.peerTrustedCaFile : o.trustedCaFile;
  if (peerCa === '' && memberCount > 1) {
    throw new Error(
      'with TLS, peers prove they are members by certificate: give --peer-trusted-ca-file (or --trusted-ca-file), the CA member certificates chain to',
    );
  }
  const every = o.reloadIntervalMs;
  const serverFiles = new CertificateFiles({
    purpose: 'server',
    certFile: o.certFile,
    keyFile: o.keyFile,
    caFiles: [o.trustedCaFile, o.peerTrustedCaFile],
    reloadIntervalMs: every,
    logger,
  });
  // Dialing a peer, a member presents its peer certificate and checks the peer's server
  // certificate (its --cert-file) against both CAs, since one server serves both kinds of caller.
  const peerFiles = new CertificateFiles({
    purpose: 'peer dialing',
    certFile: o.peerCertFile !== '' ? o.peerCertFile : o.certFile,
    keyFile: o.peerKeyFile !== '' ? o.peerKeyFile : o.keyFile,
    caFiles: [peerCa, o.trustedCaFile],
    reloadIntervalMs: every,
    logger,
  });
  const peerAuthorities = new CertificateFiles({
    purpose: 'peer CA',
    certFile: '',
    keyFile: '',
    caFiles: [peerCa],
    reloadIntervalMs: every,
    logger,
  });
  return {
    serverFiles,
    peerCredentials:
      peerCa === '' && o.trustedCaFile === ''
        ? grpcCredentials.createInsecure() // a lone member with no CA never dials anyone
        : experimental.createCertificateProviderChannelCredentials(peerFiles, peerFiles),
    authenticator: new CertificatePeerAuthenticator(members, () => peerAuthorities.trustedAuthorities()),
    clientCertAuth: o.clientCertAuth,
    close() {
      serverFiles.close();
      peerFiles.close();
      peerAuthorities.close();
    },
  };
}

/**
 * Without TLS anyone who reaches the port can act as a peer and rewrite the log, so a
 * plaintext member listens only on loopback unless the operator says otherwise.
 */
export function checkPlaintextListen(listen: string, tls: boolean, insecurePlaintext: boolean): void {
  if (tls || insecurePlaintext) return;
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  if (isLoopback(host)) return;
  throw new Error(
    `refusing to listen on ${listen} without TLS: anyone who can reach it could act as a member and rewrite the data. ` +
      'Give --cert-file/--key-file (and --peer-trusted-ca-file), listen on 127.0.0.1, or pass --insecure-plaintext on a network you trust',
  );
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}
