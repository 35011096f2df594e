/**
 * User/password authentication: the client authenticates on first use, sends the token
 * in the "token" metadata of every call (unary and streams), and authenticates again when
 * a member says the token is no longer valid (expired, revoked, or auth re-enabled).
 * Tokens are valid on every member, so one token serves the whole cluster.
 */
import { Metadata } from '@grpc/grpc-js';
import type { AuthenticateResponse } from '../gen/cairn/v1/auth.js';
import { ErrorCode, type CairnError } from './errors.js';
import { unary, type MemberConnection } from './member.js';

/** The metadata key Cairn (like etcd) reads the token from. */
export const TOKEN_METADATA_KEY = 'token';

export interface UserCredentials {
  user: string;
  password: string;
}

/** User and password from the options, else CAIRN_USER (NAME or NAME:PASSWORD) and CAIRN_PASSWORD, as the CLI reads them. */
export function userCredentials(
  user: string | undefined,
  password: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): UserCredentials | undefined {
  let name = user ?? env['CAIRN_USER'];
  if (name === undefined || name === '') return undefined;
  let pw = password;
  if (user === undefined && pw === undefined) {
    const colon = name.indexOf(':');
    if (colon >= 0) [name, pw] = [name.slice(0, colon), name.slice(colon + 1)];
  }
  pw ??= env['CAIRN_PASSWORD'];
  if (pw === undefined) throw new Error(`user ${name} needs a password (option password, or CAIRN_PASSWORD)`);
  return { user: name, password: pw };
}

/** Whether a failure means "authenticate again": nothing was applied, the token was refused. */
export function isTokenRejected(error: CairnError): boolean {
  return error.cairnCode === ErrorCode.ERROR_CODE_INVALID_AUTH_TOKEN;
}

export class TokenSource {
  /** The token in use or being fetched; shared by concurrent calls so they authenticate once. */
  private current: { promise: Promise<string>; value?: string } | undefined;

  constructor(private readonly creds: UserCredentials | undefined) {}

  /** The metadata a call to `member` carries: the token, authenticating with that member first if needed. */
  async metadata(member: MemberConnection, deadline: Date): Promise<Metadata> {
    const metadata = new Metadata();
    if (this.creds === undefined) return metadata;
    const creds = this.creds;
    if (this.current === undefined) {
      const entry: { promise: Promise<string>; value?: string } = {
        promise: unary<AuthenticateResponse>((cb) =>
          member.auth.authenticate({ name: creds.user, password: creds.password }, new Metadata(), { deadline }, cb),
        ).then((res) => (entry.value = res.token)),
      };
      this.current = entry;
      // A failed authentication is not kept: the next call tries again (perhaps elsewhere).
      entry.promise.catch(() => {
        if (this.current === entry) this.current = undefined;
      });
    }
    metadata.set(TOKEN_METADATA_KEY, await this.current.promise);
    return metadata;
  }

  /** Forgets the token a member refused, unless a newer one has replaced it already. */
  invalidate(sent: Metadata): void {
    const token = sent.get(TOKEN_METADATA_KEY)[0];
    if (token !== undefined && this.current?.value === token) this.current = undefined;
  }
}
