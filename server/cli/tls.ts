/** The CLI's TLS flags (etcdctl's names): --cacert, --cert, --key, or CAIRN_CACERT/CERT/KEY. */
import { readFileSync } from 'node:fs';
import { usageError } from './errors.js';
import type { ClientOptions } from './sdk.js';

export interface TlsFlags {
  cacert: string;
  cert: string;
  key: string;
}

/** Plaintext when no TLS flag is given; TLS (verifying the member against --cacert) otherwise. */
export function tlsOptions(flags: TlsFlags): Pick<ClientOptions, 'tls'> {
  if (flags.cacert === '' && flags.cert === '' && flags.key === '') return {};
  if ((flags.cert === '') !== (flags.key === '')) throw usageError('--cert and --key go together');
  // Read here, so that an unreadable file is a usage error naming the flag.
  const tls: NonNullable<ClientOptions['tls']> = {};
  if (flags.cacert !== '') tls.ca = read(flags.cacert, '--cacert');
  if (flags.cert !== '') tls.cert = read(flags.cert, '--cert');
  if (flags.key !== '') tls.key = read(flags.key, '--key');
  return { tls };
}

function read(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw usageError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
  }
}

/** Said when no endpoint answers, as TLS on one side only looks like a dead endpoint. */
export function tlsHint(flags: TlsFlags): string {
  return flags.cacert === '' && flags.cert === ''
    ? 'plaintext; if the member serves TLS, give --cacert (and --cert/--key if it requires client certificates)'
    : 'TLS; check that the member serves TLS, that --cacert signed its certificate, and that it accepts --cert';
}
