/** Option parsers and the options shared by every client command. */
import { isIPv4, isIPv6 } from 'node:net';
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

/** A parser for integers of at least `min`. */
export function atLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`must be an integer of at least ${min}.`);
    }
    return n;
  };
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
  /** Keys and values on the command line and in simple output are hex. */
  hex?: boolean;
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
      new Option('-o, --output <format>', 'simple (keys and values as raw bytes), or json (one object; keys and values base64)')
        .choices(['simple', 'json'])
        .default('simple'),
    )
    .addOption(new Option('--hex', 'keys and values given and printed (simple output) as hex, for binary data'))
    .addOption(
      new Option('--user <name[:password]>', 'authenticate as this user (asks for the password when it is not given)').env('CAIRN_USER'),
    )
    .addOption(
      new Option('--password <password>', 'password of --user (prefer CAIRN_PASSWORD: arguments are visible to ps)').env('CAIRN_PASSWORD'),
    );
}

const CLIENT_OPTION_KEYS = [
  'endpoints',
  'dialTimeout',
  'commandTimeout',
  'output',
  'cacert',
  'cert',
  'key',
  'user',
  'password',
  'hex',
] as const;

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

/** host:port, [IPv6]:port; the host a name or an address. */
const HOST_PORT = /^(?:\[([^\]]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/;

/**
 * Why `endpoint` is not a host:port a member can listen on, or undefined when it is one.
 * grpc-js would take "7001" as the host 0.0.27.89 on port 443, and "http://h:1" as
 * something else again; both are mistakes to point out, not addresses to dial.
 */
export function endpointProblem(endpoint: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    return `give host:port without a scheme (${endpoint.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '')})`;
  }
  if (/^\d+$/.test(endpoint)) return `a port alone is not an endpoint; did you mean 127.0.0.1:${endpoint}?`;
  const match = HOST_PORT.exec(endpoint);
  if (match === null) return 'expected host:port, e.g. 127.0.0.1:7379, node-1.example:7379 or [::1]:7379';
  const [, v6, host, port] = match;
  if (v6 !== undefined && !isIPv6(v6)) return `${v6} is not an IPv6 address`;
  if (host !== undefined && /^[\d.]+$/.test(host) && !isIPv4(host)) return `${host} is not an IPv4 address`;
  const n = Number(port);
  if (n < 1 || n > 65535) return `port ${port} is not between 1 and 65535`;
  return undefined;
}

/** Splits the --endpoints list, rejecting entries that are not host:port. */
export function parseEndpoints(list: string): string[] {
  const endpoints = list.split(',').map((e) => e.trim());
  if (endpoints.length === 0 || endpoints.some((e) => e === '')) {
    throw usageError(`invalid --endpoints '${list}': expected host:port[,host:port...]`);
  }
  for (const endpoint of endpoints) {
    const problem = endpointProblem(endpoint);
    if (problem !== undefined) throw usageError(`invalid endpoint '${endpoint}' in --endpoints: ${problem}`);
  }
  return endpoints;
}
