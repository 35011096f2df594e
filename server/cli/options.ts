/** Option parsers and the options shared by every client command. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { TlsFlags } from './tls.js';
import { usageError } from './errors.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError('must be a positive integer.');
  }
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('must be a non-negative integer.');
  }
  return n;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "500ms", "2s", "1.5m", "1h", or a bare number of milliseconds. */
export function durationMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? 'ms'] ?? 1) : NaN;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new InvalidArgumentError('must be a positive duration like 500ms, 2s or 1m.');
  }
  return Math.round(ms);
}

export type OutputFormat = 'simple' | 'json';

/** Options every command that talks to a node accepts. */
export interface ClientFlags extends TlsFlags {
  endpoints: string;
  dialTimeout: number;
  commandTimeout: number;
  output: OutputFormat;
  /** NAME or NAME:PASSWORD to authenticate as (--user, CAIRN_USER). */
  user?: string;
  /** The password when --user names only the user (--password, CAIRN_PASSWORD). */
  password?: string;
}

export const DEFAULT_ENDPOINT = '127.0.0.1:7379';
/**
 * Generous (etcdctl uses 2 s): on a busy host a live member can take seconds to complete
 * the handshake, and an endpoint that refuses the connection is skipped at once anyway.
 */
const DIAL_TIMEOUT_MS = 5000;

export function addClientOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--endpoints <list>', 'comma-separated host:port list; the first one that answers is used')
        .env('CAIRN_ENDPOINTS')
        .default(DEFAULT_ENDPOINT),
    )
    .addOption(
      new Option('--dial-timeout <duration>', 'time allowed to connect to one endpoint')
        .argParser(durationMs)
        .default(DIAL_TIMEOUT_MS, '5s'),
    )
    .addOption(new Option('--command-timeout <duration>', 'deadline of each request').argParser(durationMs).default(5000, '5s'))
    .addOption(new Option('--cacert <file>', 'TLS: verify members with this CA bundle (PEM); turns TLS on').env('CAIRN_CACERT').default(''))
    .addOption(
      new Option('--cert <file>', 'TLS: client certificate (PEM), for members with --client-cert-auth').env('CAIRN_CERT').default(''),
    )
    .addOption(new Option('--key <file>', 'TLS: key of --cert').env('CAIRN_KEY').default(''))
    .addOption(
      new Option('-o, --output <format>', 'simple, or json (one object; keys and values as UTF-8 strings)')
        .choices(['simple', 'json'])
        .default('simple'),
    )
    .addOption(
      new Option('--user <name[:password]>', 'authenticate as this user (asks for the password when it is not given)').env('CAIRN_USER'),
    )
    .addOption(
      new Option('--password <password>', 'password of --user (prefer CAIRN_PASSWORD: arguments are visible to ps)').env('CAIRN_PASSWORD'),
    );
}

const CLIENT_OPTION_KEYS = ['endpoints', 'dialTimeout', 'commandTimeout', 'output', 'cacert', 'cert', 'key', 'user', 'password'] as const;

/**
 * Lets the client options also come before the command (`cairn --endpoints x get k`), as
 * with etcdctl. The program declares them too; a value given on the command line to the
 * program is used unless the command itself got one on the command line.
 */
export function inheritClientOptions(program: Command): void {
  addClientOptions(program).enablePositionalOptions();
  program.hook('preAction', (_program, command) => {
    if (command === program) return;
    for (const key of CLIENT_OPTION_KEYS) {
      if (program.getOptionValueSource(key) === 'cli' && command.getOptionValueSource(key) !== 'cli') {
        command.setOptionValueWithSource(key, program.getOptionValue(key), 'cli');
      }
    }
  });
}

/** Splits the --endpoints list, rejecting empty entries. */
export function parseEndpoints(list: string): string[] {
  const endpoints = list.split(',').map((e) => e.trim());
  if (endpoints.length === 0 || endpoints.some((e) => e === '')) {
    throw usageError(`invalid --endpoints '${list}': expected host:port[,host:port...]`);
  }
  return endpoints;
}
