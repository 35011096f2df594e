/**
 * The CLI's client: the TypeScript SDK's CairnClient, built from the shared flags. Failover,
 * retries, deadlines and authentication are the SDK's; this file only maps flags to options.
 */
import { CairnClient, type CallContext, type ClientOptions, type InvokeOptions, type Safety } from './sdk.js';
import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import type { AuthServiceClient } from './sdk.js';
import { CliError } from './errors.js';
import { parseEndpoints, type ClientFlags } from './options.js';
import { promptHidden, splitUser } from './password-input.js';
import { tlsHint, tlsOptions } from './tls.js';
import { CairnError } from './sdk.js';

/** --user NAME[:PASSWORD], with --password/CAIRN_PASSWORD, else a prompt on the terminal. */
async function userOptions(flags: ClientFlags): Promise<Pick<ClientOptions, 'user' | 'password'>> {
  if (flags.user === undefined) return {};
  const { name, password: inline } = splitUser(flags.user);
  if (name === '') throw new CliError('--user needs a user name');
  const password =
    inline ?? flags.password ?? (await promptHidden(`Password of ${name}: `, 'give --user NAME:PASSWORD, or set CAIRN_PASSWORD'));
  return { user: name, password };
}

/** A client for the flags' endpoints, TLS, timeouts and user. */
export async function clientFromFlags(flags: ClientFlags, endpoints = parseEndpoints(flags.endpoints)): Promise<CairnClient> {
  return new CairnClient({
    endpoints,
    dialTimeoutMs: flags.dialTimeout,
    callTimeoutMs: flags.commandTimeout,
    // The CLI talks to the endpoints it is given, as etcdctl does.
    discover: false,
    ...tlsOptions(flags),
    ...(await userOptions(flags)),
  });
}

/** The SDK's advice on a failed connection, which names its options rather than the CLI's flags. */
const SDK_CONNECT_HINT = / \(connecting with [^()]*\)$/;

/** An SDK error message without that advice. */
export function withoutSdkHint(message: string): string {
  return message.replace(SDK_CONNECT_HINT, '');
}

/**
 * A call that reached no endpoint, said in the CLI's words: which endpoints failed and
 * how, and which flags to check (plaintext against TLS looks like a dead endpoint).
 */
function unreachable(err: CairnError, flags: ClientFlags): CliError {
  const reasons = withoutSdkHint(err.message);
  const listed = reasons.startsWith('no member answered (') ? reasons.slice('no member answered '.length) : `(${reasons})`;
  return new CliError(`UNAVAILABLE: no endpoint answered ${listed}; connecting with ${tlsHint(flags)}`);
}

/** Runs `fn` with a client and closes the client afterwards. */
export async function withClient<T>(flags: ClientFlags, fn: (client: CairnClient) => Promise<T>): Promise<T> {
  const client = await clientFromFlags(flags);
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof CairnError && err.notSent && err.codeName === 'UNAVAILABLE') throw unreachable(err, flags);
    throw err;
  } finally {
    client.close();
  }
}

/**
 * Runs `fn` with a client of the one member at `address` (status, hashes, defragment and
 * backups are per member), and closes it afterwards.
 */
export async function withMemberClient<T>(flags: ClientFlags, address: string, fn: (client: CairnClient) => Promise<T>): Promise<T> {
  const client = await clientFromFlags(flags, [address]);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** The grpc-js callback of a unary call, as a promise. */
export function unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => void invoke((err, res) => (err ? reject(err) : resolve(res))));
}

/** A raw unary call through the SDK (failover, retries, token, deadline): for services the typed API lacks. */
export function rawCall<Res>(
  client: CairnClient,
  safety: Safety,
  invoke: (ctx: CallContext, cb: (err: ServiceError | null, res: Res) => void) => unknown,
  options: InvokeOptions = {},
): Promise<Res> {
  return client.call(safety, (ctx) => unary<Res>((cb) => invoke(ctx, cb)), options);
}

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * One AuthService call through the SDK. Retried only where it surely was not applied:
 * adding a user twice is an error, not a no-op.
 */
export function authCall<Req, Res>(client: CairnClient, pick: (auth: AuthServiceClient) => UnaryMethod<Req, Res>, req: Req): Promise<Res> {
  return rawCall<Res>(client, 'write', (c, cb) => pick(c.member.auth)(req, c.metadata, { deadline: c.deadline }, cb));
}
