import test from 'ava';
import { X509Certificate as X509 } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { DEFAULT_TLS_OPTIONS, type TlsOptions } from '../../server/config.js';
import { CertificateFiles } from '../../server/transport/certificate-files.js';
import { TransportError } from '../../server/transport/errors.js';
import { checkPlaintextListen, memberTls } from '../../server/transport/member-tls.js';
import { CertificatePeerAuthenticator } from '../../server/transport/peer-authenticator.js';
import { verifiedPeerCertificate, type CallWithAuthContext } from '../../server/transport/peer-certificate.js';
import { createTestPki, memberSan } from '../helpers/test-certificates.js';

const pki = createTestPki();
const otherCa = createTestPki('Peer CA');
test.after.always(() => {
  pki.cleanup();
  otherCa.cleanup();
});

/** A server call as grpc-js hands it over a connection whose certificate verified. */
function callWith(certFile: string | undefined): CallWithAuthContext {
  const raw = certFile === undefined ? undefined : new X509(readFileSync(certFile)).raw;
  return {
    getAuthContext: () => (raw === undefined ? {} : { transportSecurityType: 'ssl', sslPeerCertificate: { raw } as PeerCertificate }),
  };
}

const members = [
  { id: 11, name: 'n1' },
  { id: 22, name: 'n2' },
];

test('a member certificate from the peer CA speaks for the member its SAN names; client and foreign certificates for none', (t) => {
  const n1 = pki.issue('n1', { san: memberSan('n1') });
  const byUri = pki.issue('host-a', { san: ['DNS:host-a.example', 'URI:urn:cairn:member:n2'] });
  const client = pki.issue('client');
  const foreign = otherCa.issue('n1', { san: memberSan('n1') });
  const auth = new CertificatePeerAuthenticator(
    () => members,
    () => [new X509(readFileSync(pki.caFile))],
  );
  t.deepEqual([...auth.membersFor(callWith(n1.certFile))], [11]);
  t.deepEqual([...auth.membersFor(callWith(byUri.certFile))], [22]);
  const denied = (certFile: string | undefined): TransportError =>
    t.throws(() => auth.membersFor(callWith(certFile)), { instanceOf: TransportError });
  t.regex(denied(client.certFile).message, /CN=client .*names no member/);
  t.regex(denied(foreign.certFile).message, /not issued by the peer CA/);
  t.regex(denied(undefined).message, /presented no verified certificate/);
  t.is(denied(client.certFile).code, 'PEER_NOT_AUTHENTICATED');
});

test('verifiedPeerCertificate gives the CN and subject for authentication above the transport', (t) => {
  const alice = pki.issue('alice');
  const cert = verifiedPeerCertificate(callWith(alice.certFile));
  t.is(cert?.commonName, 'alice');
  t.regex(cert!.subject, /CN=alice/);
  t.is(verifiedPeerCertificate(callWith(undefined)), undefined);
});

const tls = (o: Partial<TlsOptions>): TlsOptions => ({ ...DEFAULT_TLS_OPTIONS, ...o });

test('TLS flags that cannot work are refused at start, naming the flag', (t) => {
  const n1 = pki.issue('n1', { san: memberSan('n1') });
  const none = (): never[] => [];
  t.is(memberTls(tls({}), none, 3), undefined);
  t.throws(() => memberTls(tls({ trustedCaFile: pki.caFile }), none, 1), { message: /--trusted-ca-file need TLS on/ });
  t.throws(() => memberTls(tls({ certFile: n1.certFile }), none, 1), { message: /both --cert-file and --key-file/ });
  t.throws(() => memberTls(tls({ ...n1, clientCertAuth: true }), none, 1), { message: /--client-cert-auth needs --trusted-ca-file/ });
  t.throws(() => memberTls(tls({ ...n1 }), none, 3), { message: /peers prove they are members by certificate/ });
  t.throws(() => memberTls(tls({ ...n1, keyFile: pki.issue('other').keyFile, trustedCaFile: pki.caFile }), none, 1), {
    message: /are not usable/,
  });
  t.throws(() => memberTls(tls({ ...n1, trustedCaFile: '/nonexistent/ca.pem' }), none, 1), {
    message: /cannot read TLS file \/nonexistent\/ca.pem/,
  });
  const ok = memberTls(tls({ ...n1, trustedCaFile: pki.caFile }), none, 3);
  t.truthy(ok);
  ok?.close();
});

test('a plaintext member listens only on loopback unless told otherwise', (t) => {
  for (const listen of ['127.0.0.1:7379', '127.0.0.2:1', 'localhost:7379', '[::1]:7379'])
    t.notThrows(() => checkPlaintextListen(listen, false, false), listen);
  for (const listen of ['0.0.0.0:7379', '10.0.0.5:7379', '[::]:7379', 'node1.example:7379']) {
    t.throws(() => checkPlaintextListen(listen, false, false), { message: /refusing to listen .* without TLS/ }, listen);
    t.notThrows(() => checkPlaintextListen(listen, false, true));
    t.notThrows(() => checkPlaintextListen(listen, true, false));
  }
});

test('certificate files: a rotation is handed to listeners; a half-written one (key of another certificate) is not', async (t) => {
  const cert = pki.issue('rot', { san: memberSan('rot') });
  const files = new CertificateFiles({ purpose: 'test', ...cert, caFiles: [pki.caFile], reloadIntervalMs: 3_600_000 });
  t.teardown(() => files.close());
  const serials: string[] = [];
  files.addIdentityCertificateListener((u) => serials.push(new X509(u!.certificate).serialNumber));
  t.is(serials.length, 1, 'a new listener gets the current certificate at once');
  await files.reload();
  t.is(serials.length, 1, 'unchanged files are not handed out again');
  const before = files.certificate()!.serialNumber;
  // Only the key replaced: not a usable pair, so the old one stays.
  const other = pki.issue('other-key');
  copyFileSync(other.keyFile, cert.keyFile);
  await files.reload();
  t.is(files.certificate()!.serialNumber, before);
  t.is(serials.length, 1);
  pki.issue('rot', { san: memberSan('rot') });
  await files.reload();
  t.not(files.certificate()!.serialNumber, before);
  t.deepEqual(serials.slice(1), [files.certificate()!.serialNumber]);
});
