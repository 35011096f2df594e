/**
 * The lease part of the chaos workload. Each client holds a few leases of its own, granted
 * with ids it chooses (unique in a run: the checker must be able to name the lease of an
 * unknown grant) and a short TTL; about half of them it keeps alive with renewals on its
 * keep-alive stream, the others it lets lapse. It attaches lease keys to its leases (or to
 * none, which detaches a key) and sometimes revokes a lease. Reads of lease keys are plain
 * gets (workload.ts). When a lease expires is the leader's decision; the checker
 * (checker/lease-check.ts) assumes no time for it.
 */
import type { Call, Result } from '../checker/history.js';
import { LEASE_KEY_PREFIX } from '../checker/history.js';
import type { MemberClient } from './clients.js';
import type { Rng } from './rng.js';

/** Seconds. Short, so that leases lapse within a run; the server raises it to its minimum. */
export const LEASE_TTL = 2;
/** Leases a client holds at once; granting another lets the oldest lapse. */
const LEASES_PER_CLIENT = 3;
/** Lease ids: client c uses (c + 1) * 10^6 + n, far below the 2^53 - 1 limit. */
const IDS_PER_CLIENT = 1_000_000;

/** lmput: a transaction putting two lease keys attached to one lease (leases with several keys). */
export type LeaseKind = 'grant' | 'lput' | 'lmput' | 'revoke' | 'keepalive';

export const leaseKeyNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `${LEASE_KEY_PREFIX}${i}`);

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

interface HeldLease {
  readonly id: number;
  /** Renewed by this client; the others lapse. */
  readonly keep: boolean;
}

export class ClientLeases {
  private readonly held: HeldLease[] = [];
  private granted = 0;

  constructor(
    private readonly client: number,
    private readonly rng: Rng,
  ) {}

  /** The call for `kind` on `key` (and `other`, for two keys); a grant when it needs a lease the client does not hold. */
  callOf(kind: LeaseKind, key: string, other: string, value: string): Call {
    const kept = this.held.filter((l) => l.keep);
    if (kind === 'grant' || this.held.length === 0 || (kind === 'keepalive' && kept.length === 0)) return this.grant();
    switch (kind) {
      case 'lput':
        return { f: 'lput', key, value, lease: this.rng.next() < 0.15 ? 0 : this.rng.pick(this.held).id };
      case 'lmput':
        return {
          f: 'mput',
          kvs: [
            [key, value],
            [other, `${value}b`],
          ],
          lease: this.rng.pick(this.held).id,
        };
      case 'keepalive':
        return { f: 'keepalive', lease: this.rng.pick(kept).id };
      case 'revoke': {
        const lease = this.rng.pick(this.held).id;
        this.forget(lease); // whatever the outcome: an unknown revoke may have ended it
        return { f: 'revoke', lease };
      }
    }
  }

  /** Learns from an answer: a lease the server says is gone is no longer used. */
  observe(call: Call, result: Result | undefined, notFound: boolean): void {
    if (
      (call.f === 'lput' || call.f === 'keepalive' || (call.f === 'mput' && call.lease !== undefined)) &&
      (notFound || (result?.f === 'keepalive' && result.ttl <= 0))
    )
      this.forget(call.lease!);
  }

  private grant(): Call {
    const id = (this.client + 1) * IDS_PER_CLIENT + ++this.granted;
    // Granted or not (an unknown grant may have succeeded), the client uses it from now on.
    this.held.push({ id, keep: this.rng.next() < 0.5 });
    if (this.held.length > LEASES_PER_CLIENT) this.held.shift();
    return { f: 'grant', lease: id, ttl: LEASE_TTL };
  }

  private forget(lease: number): void {
    const i = this.held.findIndex((l) => l.id === lease);
    if (i >= 0) this.held.splice(i, 1);
  }
}

/** Sends a lease call; grant and keep-alive answers carry no op revision (see history.ts). */
export async function sendLeaseCall(
  mc: MemberClient,
  call: Extract<Call, { f: 'grant' | 'lput' | 'revoke' | 'keepalive' }>,
  timeoutMs: number,
): Promise<{ result: Result; revision?: number }> {
  switch (call.f) {
    case 'grant': {
      const r = await mc.leaseGrant(call.lease, call.ttl, timeoutMs);
      return { result: { f: 'grant', ttl: r.ttl } };
    }
    case 'lput': {
      const r = await mc.put({ key: b(call.key), value: b(call.value), lease: call.lease }, timeoutMs);
      return { result: { f: 'lput' }, revision: r.header!.revision };
    }
    case 'revoke': {
      const r = await mc.leaseRevoke(call.lease, timeoutMs);
      return { result: { f: 'revoke' }, revision: r.header!.revision };
    }
    case 'keepalive': {
      const r = await mc.keepAliveOnce(call.lease, timeoutMs);
      return { result: { f: 'keepalive', ttl: r.ttl, headerRevision: r.header?.revision ?? 0 } };
    }
  }
}
