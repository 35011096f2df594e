/**
 * Clients that authenticate: promisified AuthService calls, and KV/Watch/Maintenance
 * clients that send a token in the "token" metadata (through a client interceptor, since
 * grpc-js refuses call credentials on an insecure channel).
 *
 *   const auth = authClient(t, address);
 *   await auth.call('userAdd', { name: 'root', password: 'pw' });
 *   const token = (await auth.call('authenticate', { name: 'root', password: 'pw' })).token;
 *   const kv = kvWithToken(t, address, token);
 */
import {
  credentials,
  InterceptingCall,
  Metadata,
  type ChannelOptions,
  type Client,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import { AuthServiceClient } from '../../gen/ts/cairn/v1/auth.js';
import { KVServiceClient } from '../../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceClient } from '../../gen/ts/cairn/v1/maintenance.js';
import { WatchServiceClient } from '../../gen/ts/cairn/v1/watch.js';
import { errorDetails, Kv, WatchSession } from './grpc-clients.js';

/** Adds the token to every call's metadata. */
export function tokenInterceptor(token: string | undefined): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (token !== undefined) metadata.set('token', token);
        next(metadata, listener);
      },
    });
}

function channelOptions(token: string | undefined): ChannelOptions & { interceptors: Interceptor[] } {
  return { interceptors: [tokenInterceptor(token)] };
}

type Unary<Req, Res> = (req: Req, metadata: Metadata, callback: (err: ServiceError | null, res: Res) => void) => unknown;
type ReqOf<M> = M extends (req: infer Req, metadata: Metadata, callback: (err: ServiceError | null, res: infer _Res) => void) => unknown
  ? Req
  : never;
type ResOf<M> = M extends (req: infer _Req, metadata: Metadata, callback: (err: ServiceError | null, res: infer Res) => void) => unknown
  ? Res
  : never;
type AuthMethod = Exclude<keyof AuthServiceClient, keyof Client>;

/** Promisified AuthService calls, optionally as a user (token). */
export class AuthCalls {
  constructor(readonly client: AuthServiceClient) {}

  call<M extends AuthMethod>(method: M, req: ReqOf<AuthServiceClient[M]>): Promise<ResOf<AuthServiceClient[M]>> {
    const fn = this.client[method] as unknown as Unary<ReqOf<AuthServiceClient[M]>, ResOf<AuthServiceClient[M]>>;
    return new Promise((resolve, reject) => fn.call(this.client, req, new Metadata(), (err, res) => (err ? reject(err) : resolve(res))));
  }
}

/** Registers close() of a client at teardown. */
function closing<C extends { close(): void }>(t: ExecutionContext, client: C): C {
  t.teardown(() => client.close());
  return client;
}

export function authClient(t: ExecutionContext, address: string, token?: string): AuthCalls {
  return new AuthCalls(closing(t, new AuthServiceClient(address, credentials.createInsecure(), channelOptions(token))));
}

export function kvWithToken(t: ExecutionContext, address: string, token: string | undefined): Kv {
  return new Kv(closing(t, new KVServiceClient(address, credentials.createInsecure(), channelOptions(token))));
}

export function maintenanceWithToken(t: ExecutionContext, address: string, token: string | undefined): MaintenanceServiceClient {
  return closing(t, new MaintenanceServiceClient(address, credentials.createInsecure(), channelOptions(token)));
}

export function watchWithToken(t: ExecutionContext, address: string, token: string | undefined): WatchSession {
  const client = closing(t, new WatchServiceClient(address, credentials.createInsecure(), channelOptions(token)));
  const session = new WatchSession(client.watch());
  t.teardown(() => session.close());
  return session;
}

/** Authenticates and returns the token. */
export async function login(auth: AuthCalls, name: string, password: string): Promise<string> {
  const res = await auth.call('authenticate', { name, password });
  return (res as { token: string }).token;
}

/** The Cairn error code a failed call carries (0 when it has none). */
export function codeOf(err: unknown): number {
  if (typeof (err as ServiceError | undefined)?.code !== 'number') throw err;
  return errorDetails(err as ServiceError)?.info?.code ?? 0;
}

/** Runs a call; 'ok' or the Cairn error code it failed with. */
export async function outcome(call: Promise<unknown>): Promise<'ok' | number> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    return codeOf(err);
  }
}
