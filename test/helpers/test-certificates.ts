/**
 * Certificates made at test time with the openssl CLI (no keys live in the repository):
 *
 *   const pki = await createTestPki();            // a CA in a fresh temp dir
 *   const n1 = pki.issue('n1', { san: ['DNS:n1', 'IP:127.0.0.1'] });
 *   const client = pki.issue('client');           // CN=client, no member name
 *   const rogue = (await createTestPki('Rogue CA')).issue('n2', ...);   // another CA
 *   const old = pki.issue('n1', { days: -1 });    // expired yesterday
 *   await pki.cleanup();
 *
 * Keys are P-256 (fast to make); every certificate may serve and dial (serverAuth and
 * clientAuth), as a member's does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IssuedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface IssueOptions {
  /** subjectAltName entries, e.g. ['DNS:n1', 'IP:127.0.0.1']. */
  readonly san?: readonly string[];
  /** Validity in days from now; negative for a certificate that has already expired. */
  readonly days?: number;
  /** File name stem; default the CN (reissuing with the same stem overwrites, as a rotation does). */
  readonly stem?: string;
}

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  issue(commonName: string, options?: IssueOptions): IssuedCertificate;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A CA with its own directory; `name` becomes its CN. */
export function createTestPki(name = 'Cairn Test CA', dir = mkdtempSync(join(tmpdir(), 'cairn-pki-'))): TestPki {
  const stem = name.replace(/\W+/g, '-').toLowerCase();
  const caFile = join(dir, `${stem}.pem`);
  const caKey = join(dir, `${stem}.key`);
  openssl(['req', '-x509', ...KEY, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name}`], dir);
  let n = 0;
  return {
    dir,
    caFile,
    issue(commonName, options = {}) {
      const file = `${options.stem ?? commonName}-${stem}`;
      const certFile = join(dir, `${file}.pem`);
      const keyFile = join(dir, `${file}.key`);
      const ext = join(dir, `${file}-${++n}.ext`);
      const csr = join(dir, `${file}-${n}.csr`);
      writeFileSync(
        ext,
        [
          ...(options.san !== undefined && options.san.length > 0 ? [`subjectAltName=${options.san.join(',')}`] : []),
          'extendedKeyUsage=serverAuth,clientAuth',
          '',
        ].join('\n'),
      );
      // Key and certificate are written beside the final names, then renamed into place
      // (key first), so a member re-reading them never sees a certificate without its key.
      openssl(['req', ...KEY, '-keyout', `${keyFile}.new`, '-out', csr, '-subj', `/CN=${commonName}`], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          caFile,
          '-CAkey',
          caKey,
          '-days',
          String(options.days ?? 2),
          '-extfile',
          ext,
          '-out',
          `${certFile}.new`,
        ],
        dir,
      );
      renameSync(`${keyFile}.new`, keyFile);
      renameSync(`${certFile}.new`, certFile);
      return { certFile, keyFile };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A member certificate as `cairn serve` expects it: its name and the loopback address in the SAN. */
export function memberSan(name: string): string[] {
  return [`DNS:${name}`, 'IP:127.0.0.1'];
}
