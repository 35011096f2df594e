/** The CLI's TLS flags (etcdctl's names): --cacert, --cert, --key, or CAIRN_CACERT/CERT/KEY. */
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { usageError } from './errors.js';

export interface TlsFlags {
  cacert: string;
  cert: string;
  key: string;
}

/** Plaintext when no TLS flag is given; TLS (verifying the member against --cacert) otherwise. */
export function clientCredentials(flags: TlsFlags): ChannelCredentials {
  if (flags.cacert === '' && flags.cert === '' && flags.key === '') return credentials.createInsecure();
  if ((flags.cert === '') !== (flags.key === '')) throw usageError('--cert and --key go together');
  return credentials.createSsl(
    flags.cacert === '' ? null : read(flags.cacert, '--cacert'),
    flags.key === '' ? null : read(flags.key, '--key'),
    flags.cert === '' ? null : read(flags.cert, '--cert'),
  );
}

/** Said when a connection fails, as TLS on one side only looks like a dead endpoint. */
export function tlsHint(flags: TlsFlags): string {
  return flags.cacert === '' && flags.cert === ''
    ? 'plaintext; if the member serves TLS, give --cacert (and --cert/--key if it requires client certificates)'
    : 'TLS; check that the member serves TLS, that --cacert signed its certificate, and that it accepts --cert';
}

function read(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw usageError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
  }
}
