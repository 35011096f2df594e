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
import { FORWARDED_HEADER } from '../lease-forwarder.js';
import { verifyToken } from './tokens.js';

/** The metadata key clients send their token in, as etcd's clients do. */
export const TOKEN_METADATA_KEY = 'token';

/**
 * The user named by the call's verified client certificate (its subject CN), when
 * --client-cert-auth is on: the one hook the TLS work plugs in (new Authorizer(store,
 * { certificateUser })). A call with a token is that token's user; one without a token
 * but with such a certificate is the certificate's user. main.ts wires
 * certificate-identity.ts's certificateUser when TLS is on.
 */
export type CertificateUser = (call: ServerCall) => string | undefined;
export const NO_CERTIFICATE_USER: CertificateUser = () => undefined;

/**
 * Whether the call comes from a member of this cluster. With TLS: its verified certificate
 * names a current member (the peer service's check). Without TLS the member cannot tell,
 * and trusts the network as its peer service does (plaintext members listen on loopback
 * only, unless --insecure-plaintext): whoever can reach the port can act as a member there
 * anyway, so honouring the forwarded mark gives away nothing the peer service does not.
 */
export type MemberCheck = (call: ServerCall) => boolean;
export const TRUST_THE_NETWORK: MemberCheck = () => true;

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
  private readonly fromMember: MemberCheck;
  private readonly now: () => number;

  constructor(
    private readonly store: AuthStore,
    options: {
      /** Resolves once this member has applied everything committed when it was called. */
      readBarrier: () => Promise<void>;
      certificateUser?: CertificateUser;
      /** Who may mark a lease call as forwarded (FORWARDED_HEADER); see MemberCheck. */
      fromMember?: MemberCheck;
      now?: () => number;
    },
  ) {
    this.readBarrier = options.readBarrier;
    this.certificateUser = options.certificateUser ?? NO_CERTIFICATE_USER;
    this.fromMember = options.fromMember ?? TRUST_THE_NETWORK;
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
    if (this.store.enabled && credentials.metadata.get(FORWARDED_HEADER).length > 0) {
      this.checkForwarder(rule, credentials.call);
      return;
    }
    const user = this.caller(credentials);
    if (user === undefined) return;
    switch (rule.kind) {
      case 'user':
      case 'watch':
        this.permissions(user);
        return;
      case 'root':
        if (!this.permissions(user).root && rule.anyUserFor?.(request as never) !== true)
          throw denied(user, 'this call needs the root role');
        return;
      case 'keys':
        this.checkKeys(user, rule.needs(request as never));
        return;
    }
  }

  /**
   * A call marked forwarded carries no user: the follower checked its client before
   * forwarding. It is let through only for methods followers forward, and only from a
   * member; anyone else setting the mark is refused, not treated as a user.
   */
  private checkForwarder(rule: AccessRule, call: ServerCall): void {
    if (rule.kind !== 'user' || rule.forwardedByMembers !== true) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_PERMISSION_DENIED,
        `only lease keep-alives and time-to-live requests are forwarded (${FORWARDED_HEADER})`,
      );
    }
    if (!this.fromMember(call)) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_PERMISSION_DENIED,
        `the ${FORWARDED_HEADER} header is for members forwarding to the leader, and this caller presented no member certificate; send a token instead`,
      );
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
