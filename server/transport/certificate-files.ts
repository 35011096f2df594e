/**
 * PEM files (a certificate, its key, CA bundles) kept current for grpc-js: read once at
 * start (a missing or unreadable file fails the start with its name), then re-read on an
 * interval; when they change and still form a usable pair, listeners get the new bytes and
 * grpc-js uses them for every connection made after that (server side: setSecureContext;
 * dialing side: the next secure context). Rotation needs no restart.
 *
 * Implements grpc-js's CertificateProvider (its own FileWatcherCertificateProvider takes a
 * single CA file; a member on one port trusts two: the client CA and the peer CA). A
 * half-written rotation (new certificate, old key) is not applied: the old pair stays in
 * use and the next read tries again.
 */
import type { experimental } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { TransportLogger } from './types.js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface CertificateFilesOptions {
  /** What the files are for, in logs: "server", "peer dialing", "peer CA". */
  readonly purpose: string;
  /** Certificate (chain) and key, or both '' for a CA-only bundle. */
  readonly certFile: string;
  readonly keyFile: string;
  /** CA files, concatenated in this order; '' entries and repeats are skipped. */
  readonly caFiles: readonly string[];
  readonly reloadIntervalMs: number;
  readonly logger?: TransportLogger | undefined;
}

interface Loaded {
  readonly certificate: Buffer | undefined;
  readonly privateKey: Buffer | undefined;
  readonly ca: Buffer | undefined;
}

export class CertificateFiles implements experimental.CertificateProvider {
  private current: Loaded;
  private authorities: readonly X509Certificate[];
  private readonly caFiles: readonly string[];
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly timer: NodeJS.Timeout;
  private reloading = false;

  constructor(private readonly opts: CertificateFilesOptions) {
    if ((opts.certFile === '') !== (opts.keyFile === ''))
      throw new Error('a certificate file needs its key file, and a key its certificate');
    this.caFiles = [...new Set(opts.caFiles.filter((f) => f !== ''))];
    this.current = this.check(this.readNow());
    this.authorities = parseAuthorities(this.current.ca);
    this.timer = setInterval(() => void this.reload(), opts.reloadIntervalMs);
    this.timer.unref();
  }

  /** The CA certificates currently trusted (for checks TLS itself cannot make). */
  trustedAuthorities(): readonly X509Certificate[] {
    return this.authorities;
  }

  /** The files' current contents as Node TLS options, for a server's secure context. */
  secureContextOptions(): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
    const { certificate, privateKey, ca } = this.current;
    return {
      ...(certificate !== undefined ? { cert: certificate } : {}),
      ...(privateKey !== undefined ? { key: privateKey } : {}),
      ...(ca !== undefined ? { ca } : {}),
    };
  }

  /** Whether any CA file is configured. */
  get hasAuthorities(): boolean {
    return this.caFiles.length > 0;
  }

  /** The certificate currently presented, if any (tests and logs). */
  certificate(): X509Certificate | undefined {
    return this.current.certificate === undefined ? undefined : new X509Certificate(this.current.certificate);
  }

  close(): void {
    clearInterval(this.timer);
    this.caListeners.clear();
    this.identityListeners.clear();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    listener(this.caUpdate());
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    listener(this.identityUpdate());
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  /** Re-reads the files now; resolves once any change has been handed to the listeners. */
  async reload(): Promise<void> {
    if (this.reloading) return;
    this.reloading = true;
    try {
      const next = await this.read();
      if (
        sameBytes(next.certificate, this.current.certificate) &&
        sameBytes(next.privateKey, this.current.privateKey) &&
        sameBytes(next.ca, this.current.ca)
      ) {
        return;
      }
      this.current = this.check(next);
      this.authorities = parseAuthorities(this.current.ca);
      const cert = this.certificate();
      this.opts.logger?.info(
        {
          purpose: this.opts.purpose,
          certFile: this.opts.certFile || undefined,
          caFiles: this.caFiles,
          serial: cert?.serialNumber,
          validTo: cert?.validTo,
        },
        'TLS certificate files changed; new connections use them',
      );
      for (const l of this.caListeners) l(this.caUpdate());
      for (const l of this.identityListeners) l(this.identityUpdate());
    } catch (err) {
      // Mid-rotation (one file replaced, not yet the other) or a bad file: keep serving with the old pair.
      this.opts.logger?.warn(
        { purpose: this.opts.purpose, err: (err as Error).message, certFile: this.opts.certFile || undefined },
        'TLS certificate files not reloaded; still using the previous ones',
      );
    } finally {
      this.reloading = false;
    }
  }

  private caUpdate(): experimental.CaCertificateUpdate | null {
    return this.current.ca === undefined ? null : { caCertificate: this.current.ca };
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const { certificate, privateKey } = this.current;
    return certificate === undefined || privateKey === undefined ? null : { certificate, privateKey };
  }

  private readNow(): Loaded {
    const read = (file: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new Error(`cannot read TLS file ${file}: ${(err as Error).message}`);
      }
    };
    return {
      certificate: this.opts.certFile === '' ? undefined : read(this.opts.certFile),
      privateKey: this.opts.keyFile === '' ? undefined : read(this.opts.keyFile),
      ca: this.caFiles.length === 0 ? undefined : Buffer.concat(this.caFiles.map(read)),
    };
  }

  private async read(): Promise<Loaded> {
    const [certificate, privateKey, ...cas] = await Promise.all([
      this.opts.certFile === '' ? undefined : readFile(this.opts.certFile),
      this.opts.keyFile === '' ? undefined : readFile(this.opts.keyFile),
      ...this.caFiles.map((f) => readFile(f)),
    ]);
    return { certificate, privateKey, ca: cas.length === 0 ? undefined : Buffer.concat(cas) };
  }

  /** Node's TLS says whether the files form a usable context (key matches certificate, PEM parses). */
  private check(loaded: Loaded): Loaded {
    try {
      createSecureContext({ cert: loaded.certificate, key: loaded.privateKey, ca: loaded.ca });
      if (loaded.certificate !== undefined) new X509Certificate(loaded.certificate);
    } catch (err) {
      const files = [this.opts.certFile, this.opts.keyFile, ...this.caFiles].filter((f) => f !== '').join(', ');
      throw new Error(`TLS files ${files} are not usable: ${(err as Error).message}`);
    }
    return loaded;
  }
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/** Every certificate of a PEM bundle. */
function parseAuthorities(pem: Buffer | undefined): readonly X509Certificate[] {
  if (pem === undefined) return [];
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}
