/**
 * What the TLS layer proved about the other end of a call: its certificate, verified
 * against the server's trusted CAs. grpc-js exposes it through `call.getAuthContext()`,
 * and only for a connection whose certificate verified (`socket.authorized`), so a
 * certificate that failed verification (allowed through when --client-cert-auth is off)
 * never shows up here.
 *
 * This is the hook for authentication above the transport (users from the client
 * certificate's CN): `verifiedPeerCertificate(call)?.commonName`.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';

/** Any grpc-js server call (unary, streaming): they all have getAuthContext (grpc-js >= 1.13). */
export type CallWithAuthContext = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>;

export interface VerifiedCertificate {
  /** The subject's CN ('' if it has none). */
  readonly commonName: string;
  /** The whole subject, one RDN per line as Node prints it (e.g. "CN=n1\nO=acme"). */
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  /** subjectAltName DNS and URI entries. */
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  /** The DER-backed certificate, for checks TLS did not make (which CA issued it). */
  readonly x509: X509Certificate;
}

/** The verified certificate the caller presented; undefined without TLS or without one. */
export function verifiedPeerCertificate(call: CallWithAuthContext): VerifiedCertificate | undefined {
  const raw = call.getAuthContext().sslPeerCertificate?.raw;
  if (raw === undefined || raw.length === 0) return undefined;
  const x509 = new X509Certificate(raw);
  const subject = x509.subject;
  const san = parseSubjectAltName(x509.subjectAltName ?? '');
  return {
    commonName: /^CN=(.*)$/m.exec(subject)?.[1] ?? '',
    subject,
    issuer: x509.issuer,
    serialNumber: x509.serialNumber,
    dnsNames: san.filter(([k]) => k === 'DNS').map(([, v]) => v),
    uris: san.filter(([k]) => k === 'URI').map(([, v]) => v),
    x509,
  };
}

/** One line for a log: "CN=client, O=acme (issuer CN=Test CA, serial 1F)". */
export function describeCertificate(c: VerifiedCertificate): string {
  return `${c.subject.split('\n').join(', ')} (issuer ${c.issuer.split('\n').join(', ')}, serial ${c.serialNumber})`;
}

/**
 * Node's subjectAltName string: `DNS:n1, IP Address:127.0.0.1, URI:"a,b"` (values with
 * commas or quotes are JSON-quoted).
 */
function parseSubjectAltName(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of text.matchAll(/([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    out.push([m[1]!.trim(), value]);
  }
  return out;
}
