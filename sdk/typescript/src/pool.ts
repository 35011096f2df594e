/**
 * The members the client knows and the one it uses. Every request goes to the member in
 * use; `invoke` retries and moves to the next member when that one cannot serve, but only
 * where a retry cannot apply a write twice.
 */
import { status, type Metadata } from '@grpc/grpc-js';
import type { MemberListResponse } from '../gen/cairn/v1/cluster.js';
import { backoffDelay, sleep } from './backoff.js';
import { CairnError, ErrorCode, toCairnError } from './errors.js';
import { isTokenRejected, TokenSource, type UserCredentials } from './auth.js';
import { MemberConnection, unary } from './member.js';
import type { Transport } from './tls.js';

/**
 * What a retry of a failed request could do: reads can always be retried; a write only
 * when the failure proves it was not applied, or when the caller says it is idempotent.
 */
export type Safety = 'read' | 'write';

export interface InvokeOptions {
  /** Retry a write even when its outcome is unknown (the write must be idempotent). */
  retryUnsafe?: boolean;
  /** Overrides the client's callTimeoutMs for this call. */
  timeoutMs?: number;
}

export interface PoolOptions {
  endpoints: string[];
  dialTimeoutMs: number;
  callTimeoutMs: number;
  discover: boolean;
  transport: Transport;
  /** Authenticate as this user and send its token with every call. */
  user: UserCredentials | undefined;
}

/** The least time a read attempt gets before the call's deadline is split between members. */
const MIN_ATTEMPT_TIMEOUT_MS = 500;

export interface CallContext {
  member: MemberConnection;
  /** The deadline of this attempt (see attemptDeadline). */
  deadline: Date;
  metadata: Metadata;
}

export class MemberPool {
  private readonly members: MemberConnection[];
  private current = 0;
  private discovery: Promise<CairnError | undefined> | undefined;
  private discovered = false;
  private closed = false;
  /** Long-lived users of the pool (watches) to end when it closes. */
  private readonly closers = new Set<() => void>();
  readonly tokens: TokenSource;

  constructor(private readonly options: PoolOptions) {
    if (options.endpoints.length === 0) throw new Error('CairnClient needs at least one endpoint');
    this.members = [...new Set(options.endpoints)].map((a) => new MemberConnection(a, options.transport));
    this.tokens = new TokenSource(options.user);
  }

  /** Addresses of every known member; the one in use first. */
  get endpoints(): string[] {
    return this.members.map((_, i) => this.members[(this.current + i) % this.members.length]!.address);
  }

  /** The member requests go to now. */
  get active(): MemberConnection {
    return this.members[this.current]!;
  }

  /** Moves to the next known member (after `failed` could not serve). */
  failover(failed: MemberConnection): void {
    // Another request may have moved on already; move only once per failure.
    if (this.active === failed) this.current = (this.current + 1) % this.members.length;
  }

  /**
   * Learns every member's address from MemberList, once; best effort, within `deadline`
   * (epoch ms; default one call timeout from now). Resolves to the error that stopped it,
   * if any: the configured endpoints still work, and discovery is tried again next call.
   */
  discover(deadline = Date.now() + this.options.callTimeoutMs): Promise<CairnError | undefined> {
    if (!this.options.discover || this.discovered) return Promise.resolve(undefined);
    this.discovery ??= this.attempts(
      'read',
      (ctx) => unary<MemberListResponse>((cb) => ctx.member.cluster.memberList({}, ctx.metadata, { deadline: ctx.deadline }, cb)),
      {},
      deadline,
    ).then(
      (res) => {
        for (const m of res.members)
          if (m.address !== '' && !this.members.some((k) => k.address === m.address))
            this.members.push(new MemberConnection(m.address, this.options.transport));
        this.discovered = true;
        return undefined;
      },
      (err: unknown) => {
        this.discovery = undefined;
        return toCairnError(err, this.active.address);
      },
    );
    return this.discovery;
  }

  /**
   * Runs one request with the client's retry policy. The whole call, discovery of the
   * members on first use and retries included, must finish within the call timeout: that
   * is the one deadline a caller waits when no member answers.
   */
  async invoke<T>(safety: Safety, attempt: (ctx: CallContext) => Promise<T>, options: InvokeOptions = {}): Promise<T> {
    if (this.closed) throw new CairnError({ code: status.CANCELLED, message: 'the client is closed' });
    const deadline = Date.now() + (options.timeoutMs ?? this.options.callTimeoutMs);
    const discoveryError = await this.discover(deadline);
    // Discovery used up the deadline trying to reach a member: its error is the call's.
    if (discoveryError !== undefined && Date.now() >= deadline) throw discoveryError;
    return this.attempts(safety, attempt, options, deadline);
  }

  /** Attempts `attempt` on the member in use, failing over and retrying until `deadline`. */
  private async attempts<T>(
    safety: Safety,
    attempt: (ctx: CallContext) => Promise<T>,
    options: InvokeOptions,
    deadline: number,
  ): Promise<T> {
    if (this.closed) throw new CairnError({ code: status.CANCELLED, message: 'the client is closed' });
    let reauthenticated = false;
    /** Members this call could not connect to; named together when none could be reached. */
    const unreached = new Set<MemberConnection>();
    let reachedOne = false;
    for (let n = 0; ; n++) {
      const member = this.active;
      let error: CairnError;
      let metadata: Metadata | undefined;
      try {
        try {
          await member.connect(Math.min(this.options.dialTimeoutMs, deadline - Date.now()));
        } catch (err) {
          unreached.add(member);
          throw err;
        }
        reachedOne = true;
        metadata = await this.tokens.metadata(member, new Date(deadline));
        const retrySafe = safety === 'read' || options.retryUnsafe === true;
        return await attempt({ member, deadline: new Date(this.attemptDeadline(retrySafe, deadline)), metadata });
      } catch (err) {
        error = toCairnError(err, member.address);
      }
      // A refused token means the call was not applied: authenticate again and retry it
      // once, at once and on the same member, whatever the call.
      if (metadata !== undefined && isTokenRejected(error) && !reauthenticated && !this.closed) {
        reauthenticated = true;
        this.tokens.invalidate(metadata);
        continue;
      }
      if (!retryable(error, safety, options.retryUnsafe ?? false) || this.closed) throw error;
      // A member that answered TIMEOUT is alive, just slow to commit; others mean go elsewhere.
      if (error.cairnCode !== ErrorCode.ERROR_CODE_TIMEOUT) this.failover(member);
      const delay = backoffDelay(n);
      if (Date.now() + delay >= deadline) throw !reachedOne && unreached.size > 1 ? noMemberAnswered(unreached) : error;
      await sleep(delay);
    }
  }

  /**
   * A call safe to retry (a read, or a write with retryUnsafe) gets half of the time left
   * when other members exist, so that a member that hangs (a stopped process) leaves time
   * to ask another one, as in the other SDKs. Other writes get it all: abandoning one
   * would leave its outcome unknown.
   */
  private attemptDeadline(retrySafe: boolean, deadline: number): number {
    const share = (deadline - Date.now()) / 2;
    return retrySafe && this.members.length > 1 && share >= MIN_ATTEMPT_TIMEOUT_MS ? Date.now() + share : deadline;
  }

  /** Registers `fn` to run when the pool closes; returns the unregistration. */
  onClose(fn: () => void): () => void {
    if (this.closed) {
      fn();
      return () => undefined;
    }
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of [...this.closers]) fn();
    this.closers.clear();
    for (const m of this.members) m.close();
  }
}

/** The error of a call that reached none of several members: each one's reason, once. */
function noMemberAnswered(unreached: Set<MemberConnection>): CairnError {
  const members = [...unreached];
  const reasons = members.map((m) => `${m.address}: ${m.lastConnectFailure ?? 'not connected'}`).join(', ');
  return new CairnError({ code: status.UNAVAILABLE, message: `no member answered (${reasons})${members[0]!.hint()}`, notSent: true });
}

/** Whether a failed attempt may be tried again (on this or another member). */
export function retryable(error: CairnError, safety: Safety, retryUnsafe: boolean): boolean {
  if (error.isNotApplied) return true;
  const transient = error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED;
  return transient && (safety === 'read' || retryUnsafe);
}
