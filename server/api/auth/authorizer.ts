import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';

/**
 * What every server call has, unary or streaming (grpc-js's ServerCall, which it
 * does not export): metadata, peer, and getAuthContext() with the peer certificate.
 */
export type ServerCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer' | 'getAuthContext'>;
import { permissionDenied, type AuthStore } from '../../apply/auth/auth-store.js';
import type { KeyNeed } from '../../apply/auth/key-needs.js';
import { CairnError, ErrorCode } from '../../errors.js';
import type { AccessRule } from './access-rules.js';
import { verifyToken } from './tokens.js';

/** The metadata key clients send their token in, as etcd's clients do. */
export const TOKEN_METADATA_KEY = 'token';

/**
 * The user named by the call's verified client certificate (its subject CN), when
 * --client-cert-auth is on: the one hook the TLS work plugs in (new Authorizer(store,
 * { certificateUser })). A call with a token is that token's user; one without a token
 * but with such a certificate is the certificate's user. Until TLS lands, no call has one.
 */
export type CertificateUser = (call: ServerCall) => string | undefined;
export const NO_CERTIFICATE_USER: CertificateUser = () => undefined;

/** What a call presented: its metadata, and the call itself for its certificate. */
export interface CallCredentials {
  readonly metadata: Metadata;
  readonly call: ServerCall;
}

/**
 * Decides whether a call may run, from its method's AccessRule and the replicated auth
 * state as it is now: a permission revoked, a user deleted or a password changed takes
 * effect on the next call. Everything is in memory; only readBarrier() waits.
 */
export class Authorizer {
  private readonly certificateUser: CertificateUser;
  private readonly now: () => number;

  constructor(
    private readonly store: AuthStore,
    options: {
      /** Resolves once this member has applied everything committed when it was called. */
      readBarrier: () => Promise<void>;
      certificateUser?: CertificateUser;
      now?: () => number;
    },
  ) {
    this.readBarrier = options.readBarrier;
    this.certificateUser = options.certificateUser ?? NO_CERTIFICATE_USER;
    this.now = options.now ?? Date.now;
  }

  /** Waits until the local auth state is at least as new as any committed change. */
  readonly readBarrier: () => Promise<void>;

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
    const refusal = this.store.refusal(user, needs);
    if (refusal !== undefined) throw refusal;
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
  return permissionDenied(user, why);
}
