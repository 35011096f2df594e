import type { Metadata } from '@grpc/grpc-js';
import type { AuthStore } from '../../apply/auth/auth-store.js';
import { CairnError, ErrorCode } from '../../errors.js';
import { intervalOf } from '../../apply/auth/key-coverage.js';
import type { AccessRule, KeyNeed } from './access-rules.js';
import { verifyToken } from './tokens.js';

/** The metadata key clients send their token in, as etcd's clients do. */
export const TOKEN_METADATA_KEY = 'token';

/**
 * The user named by the call's verified client certificate, when --client-cert-auth is on.
 * The TLS work supplies it; until then no call has one.
 */
export type CertificateUser = (call: { getPeer(): string }) => string | undefined;
export const NO_CERTIFICATE_USER: CertificateUser = () => undefined;

/** What a call presented: its metadata, and the call itself for its certificate. */
export interface CallCredentials {
  readonly metadata: Metadata;
  readonly call: { getPeer(): string };
}

/**
 * Decides whether a call may run, from its method's AccessRule and the replicated auth
 * state as it is now: a permission revoked, a user deleted or a password changed takes
 * effect on the next call. Everything is in memory; nothing here waits.
 */
export class Authorizer {
  constructor(
    private readonly store: AuthStore,
    private readonly certificateUser: CertificateUser = NO_CERTIFICATE_USER,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.store.enabled;
  }

  /**
   * The calling user while authentication is on (undefined while it is off): from the
   * "token" metadata, else from the client certificate. ignoreExpiry re-checks an open
   * stream's caller, whose token was current when the stream opened.
   */
  caller(credentials: CallCredentials, options: { ignoreExpiry?: boolean } = {}): string | undefined {
    if (!this.store.enabled) return undefined;
    const token = credentials.metadata.get(TOKEN_METADATA_KEY)[0];
    if (typeof token === 'string' && token !== '') return verifyToken(this.store, token, options.ignoreExpiry ? 0 : this.now());
    const fromCertificate = this.certificateUser(credentials.call);
    if (fromCertificate !== undefined) return fromCertificate;
    throw new CairnError(
      ErrorCode.ERROR_CODE_AUTH_REQUIRED,
      'authentication is enabled: send a token (Authenticate) in the "token" metadata',
    );
  }

  /** Throws a CairnError unless the rule lets this caller make this request. */
  authorize(rule: AccessRule, request: unknown, credentials: CallCredentials): void {
    if (rule.kind === 'open') return;
    const user = this.caller(credentials);
    if (user === undefined) return;
    switch (rule.kind) {
      case 'user':
      case 'watch':
        this.permissions(user);
        return;
      case 'root':
        if (!this.permissions(user).root) throw denied(user, 'this call needs the root role');
        return;
      case 'keys':
        this.checkKeys(user, rule.needs(request as never));
        return;
    }
  }

  /** Throws PERMISSION_DENIED unless user may do every need. */
  checkKeys(user: string, needs: readonly KeyNeed[]): void {
    const perms = this.permissions(user);
    if (perms.root) return;
    for (const need of needs) {
      const coverage = need.access === 'read' ? perms.read : perms.write;
      if (!coverage.covers(intervalOf(need.key, need.rangeEnd))) {
        throw denied(user, `no ${need.access} permission on ${describe(need)}`);
      }
    }
  }

  /** Subscribes to auth changes (for open watch streams); returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    return this.store.onChange(listener);
  }

  private permissions(user: string): NonNullable<ReturnType<AuthStore['permissions']>> {
    const perms = this.store.permissions(user);
    if (perms === undefined) throw denied(user, 'the user does not exist');
    return perms;
  }
}

function denied(user: string, why: string): CairnError {
  return new CairnError(ErrorCode.ERROR_CODE_PERMISSION_DENIED, `permission denied for user ${JSON.stringify(user)}: ${why}`);
}

function describe(need: KeyNeed): string {
  const key = JSON.stringify(need.key.toString('utf8'));
  if (need.rangeEnd.length === 0) return `key ${key}`;
  if (need.rangeEnd.length === 1 && need.rangeEnd[0] === 0) return `every key from ${key}`;
  return `range [${key}, ${JSON.stringify(need.rangeEnd.toString('utf8'))})`;
}
