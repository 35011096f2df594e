/**
 * TLS options: the CA that member certificates chain to and, for members started with
 * --client-cert-auth, the client's own certificate and key. Each may be a file or the PEM
 * bytes; unset ones default to CAIRN_CACERT / CAIRN_CERT / CAIRN_KEY (file paths, as the
 * CLI reads them). With none of them, the client speaks plaintext.
 */
import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

export interface TlsOptions {
  /** PEM file of the CA the members' certificates chain to (default CAIRN_CACERT). */
  caFile?: string;
  /** The CA as PEM bytes, instead of caFile. */
  ca?: Buffer | string;
  /** PEM file of the client certificate (default CAIRN_CERT); needs a key. */
  certFile?: string;
  cert?: Buffer | string;
  /** PEM file of the client certificate's private key (default CAIRN_KEY). */
  keyFile?: string;
  key?: Buffer | string;
  /** The name to check the member's certificate against, when it is not the address's host. */
  serverName?: string;
}

export interface Transport {
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
  /** Whether the channel is TLS; used to explain a failed connection. */
  secure: boolean;
}

function pem(bytes: Buffer | string | undefined, file: string | undefined, what: string): Buffer | undefined {
  if (bytes !== undefined) return Buffer.from(bytes);
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read the ${what} file ${file}: ${(err as Error).message}`);
  }
}

/** The channel credentials the options (or the environment) ask for. */
export function transportFor(tls: TlsOptions | undefined, env: NodeJS.ProcessEnv = process.env): Transport {
  const o = tls ?? {};
  const ca = pem(o.ca, o.caFile ?? env['CAIRN_CACERT'], 'CA');
  const cert = pem(o.cert, o.certFile ?? env['CAIRN_CERT'], 'client certificate');
  const key = pem(o.key, o.keyFile ?? env['CAIRN_KEY'], 'client key');
  if ((cert === undefined) !== (key === undefined)) throw new Error('a client certificate needs its key, and a key its certificate');
  const secure = ca !== undefined || cert !== undefined || tls !== undefined;
  if (!secure) return { credentials: credentials.createInsecure(), channelOptions: {}, secure };
  return {
    // Without a CA, the system's trusted roots check the member's certificate.
    credentials: credentials.createSsl(ca ?? null, key ?? null, cert ?? null),
    channelOptions:
      o.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': o.serverName, 'grpc.default_authority': o.serverName },
    secure,
  };
}
