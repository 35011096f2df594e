/** A KV/Watch client over a list of endpoints, with failover and per-call deadlines. */
import {
  connectivityState,
  Metadata,
  type ChannelCredentials,
  status,
  type CallOptions,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  KVServiceClient,
  type CompactRequest,
  type CompactResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
} from '../../gen/ts/cairn/v1/kv.js';
import { WatchServiceClient } from '../../gen/ts/cairn/v1/watch.js';
import { AuthServiceClient } from '../../gen/ts/cairn/v1/auth.js';
import { CliError, isServiceError, serviceError } from './errors.js';
import { parseEndpoints, type ClientFlags } from './options.js';
import { clientCredentials, tlsHint } from './tls.js';
import { promptHidden, splitUser } from './password-input.js';

export interface ClientConfig {
  endpoints: string[];
  credentials: ChannelCredentials;
  /** Added to "no endpoint answered": plaintext against TLS (or the reverse) looks like a dead endpoint. */
  connectHint?: string;
  dialTimeoutMs: number;
  commandTimeoutMs: number;
  /** Authenticate as this user and send its token with every call (--user). */
  user?: { name: string; password: () => Promise<string> };
}

/** The metadata key Cairn (like etcd) reads the token from. */
const TOKEN_KEY = 'token';

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

class ConnectionRefused extends Error {}

/**
 * Resolves once the client's channel is connected. Rejects at the deadline, and at once
 * when the connection attempt fails (refused, unreachable): nothing is listening there,
 * so waiting out the dial timeout would only delay moving to the next endpoint.
 */
function waitForReady(client: KVServiceClient, timeoutMs: number): Promise<void> {
  const channel = client.getChannel();
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) return resolve();
      if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) return reject(new ConnectionRefused());
      channel.watchConnectivityState(state, deadline, (err?: Error) => (err ? reject(err) : check()));
    };
    check();
  });
}

export class CliClient {
  private kv: KVServiceClient | undefined;
  /** Index of the endpoint in use, or of the next one to try. */
  private current = 0;
  /** The token of config.user, once authenticated (any member accepts it). */
  private token: string | undefined;

  constructor(private readonly config: ClientConfig) {}

  get endpoint(): string | undefined {
    return this.kv ? this.config.endpoints[this.current] : undefined;
  }

  /**
   * Connects to the first endpoint, starting at the current one, that becomes ready within
   * the dial timeout; an endpoint that refuses the connection is skipped at once. Fails
   * with UNAVAILABLE when none connects.
   */
  async connect(): Promise<KVServiceClient> {
    if (this.kv) return this.kv;
    const { endpoints, dialTimeoutMs } = this.config;
    const failures: string[] = [];
    for (let tried = 0; tried < endpoints.length; tried++) {
      const index = (this.current + tried) % endpoints.length;
      const client = new KVServiceClient(endpoints[index]!, this.config.credentials);
      try {
        await waitForReady(client, dialTimeoutMs);
        this.kv = client;
        this.current = index;
        return client;
      } catch (err) {
        client.close();
        failures.push(
          `${endpoints[index]}: ${err instanceof ConnectionRefused ? 'connection failed' : `not connected within ${dialTimeoutMs} ms`}`,
        );
      }
    }
    const hint = this.config.connectHint === undefined ? '' : `; connecting with ${this.config.connectHint}`;
    throw serviceError(status.UNAVAILABLE, `no endpoint answered (${failures.join(', ')})${hint}`);
  }

  /** Opens a watch stream on the connected endpoint; it has no deadline. */
  async watchClient(): Promise<WatchServiceClient> {
    const kv = await this.connect();
    return new WatchServiceClient(this.endpoint!, this.config.credentials, { channelOverride: kv.getChannel() });
  }

  /** An AuthService client on the connected endpoint's channel. */
  async authClient(): Promise<AuthServiceClient> {
    const kv = await this.connect();
    return new AuthServiceClient(this.endpoint!, this.config.credentials, { channelOverride: kv.getChannel() });
  }

  /**
   * The metadata every call carries: the token of --user, authenticating the first time
   * (the password is asked for then, if it was not given).
   */
  async callMetadata(): Promise<Metadata> {
    const metadata = new Metadata();
    const user = this.config.user;
    if (user === undefined) return metadata;
    if (this.token === undefined) {
      const password = await user.password();
      const auth = await this.authClient();
      const response = await new Promise<{ token: string }>((resolve, reject) =>
        auth.authenticate(
          { name: user.name, password },
          new Metadata(),
          { deadline: Date.now() + this.config.commandTimeoutMs },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
      this.token = response.token;
    }
    metadata.set(TOKEN_KEY, this.token);
    return metadata;
  }

  /** Runs one AuthService call with the command deadline and the caller's token. */
  async auth<Req, Res>(pick: (auth: AuthServiceClient) => UnaryMethod<Req, Res>, req: Req): Promise<Res> {
    const metadata = await this.callMetadata();
    const auth = await this.authClient();
    return new Promise<Res>((resolve, reject) =>
      pick(auth)(req, metadata, { deadline: Date.now() + this.config.commandTimeoutMs }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  range(req: RangeRequest): Promise<RangeResponse> {
    return this.unary((kv) => kv.range.bind(kv), req);
  }
  put(req: PutRequest): Promise<PutResponse> {
    return this.unary((kv) => kv.put.bind(kv), req);
  }
  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    return this.unary((kv) => kv.deleteRange.bind(kv), req);
  }
  txn(req: TxnRequest): Promise<TxnResponse> {
    return this.unary((kv) => kv.txn.bind(kv), req);
  }
  compact(req: CompactRequest): Promise<CompactResponse> {
    return this.unary((kv) => kv.compact.bind(kv), req);
  }

  close(): void {
    this.kv?.close();
    this.kv = undefined;
  }

  /**
   * Runs one call with the command deadline. On UNAVAILABLE the request never reached a
   * serving node, so it is retried once on each of the other endpoints.
   */
  private async unary<Req, Res>(pick: (kv: KVServiceClient) => UnaryMethod<Req, Res>, req: Req): Promise<Res> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.config.endpoints.length; attempt++) {
      const kv = await this.connect();
      const metadata = await this.callMetadata();
      try {
        return await new Promise<Res>((resolve, reject) => {
          const deadline = Date.now() + this.config.commandTimeoutMs;
          pick(kv)(req, metadata, { deadline }, (err, res) => (err ? reject(err) : resolve(res)));
        });
      } catch (err) {
        if (!isServiceError(err) || err.code !== status.UNAVAILABLE) throw err;
        lastError = err;
        this.close();
        this.current = (this.current + 1) % this.config.endpoints.length;
      }
    }
    throw lastError;
  }
}

/** Builds a client from the shared --endpoints/--dial-timeout/--command-timeout flags. */
export function clientFromFlags(flags: ClientFlags): CliClient {
  return new CliClient({
    endpoints: parseEndpoints(flags.endpoints),
    credentials: clientCredentials(flags),
    connectHint: tlsHint(flags),
    dialTimeoutMs: flags.dialTimeout,
    commandTimeoutMs: flags.commandTimeout,
    ...(flags.user === undefined ? {} : { user: userFromFlags(flags.user, flags.password) }),
  });
}

/** --user NAME[:PASSWORD], with --password/CAIRN_PASSWORD, else a prompt on the terminal. */
function userFromFlags(spec: string, password: string | undefined): { name: string; password: () => Promise<string> } {
  const { name, password: inline } = splitUser(spec);
  if (name === '') throw new CliError('--user needs a user name');
  const given = inline ?? password;
  return {
    name,
    password: () =>
      given !== undefined
        ? Promise.resolve(given)
        : promptHidden(`Password of ${name}: `, 'give --user NAME:PASSWORD, or set CAIRN_PASSWORD'),
  };
}

/** Runs `fn` with a client and closes the client afterwards. */
export async function withClient<T>(flags: ClientFlags, fn: (client: CliClient) => Promise<T>): Promise<T> {
  const client = clientFromFlags(flags);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
