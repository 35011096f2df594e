import type { ApplyLimits, LeaseGrant, LeaseRemaining } from '../../gen/ts/cairn/internal/v1/command.js';
import type { LeaseGrantResponse, LeaseRevokeResponse } from '../../gen/ts/cairn/v1/lease.js';
import { CairnError, ErrorCode } from '../errors.js';
import { keyBytes } from '../mvcc/key-range.js';
import type { WriteBatch } from '../mvcc/write-batch.js';
import type { CommandOutcome, HeaderFactory } from './outcome.js';

/** A lease change the applier made, for the lessor's bookkeeping of deadlines. */
export type LeaseOutcome =
  { readonly kind: 'granted'; readonly id: number; readonly ttl: number } | { readonly kind: 'removed'; readonly id: number };

export function leaseNotFound(id: number): CairnError {
  return new CairnError(ErrorCode.ERROR_CODE_LEASE_NOT_FOUND, `lease ${id} not found`);
}

const EMPTY = Buffer.alloc(0);

/**
 * Applies the lease commands, deterministically like every command: the lease id and TTL
 * were settled by the proposer, the limits travel with the command, and no clock is read
 * (expiry was decided by the leader before it proposed the command).
 */
export class LeaseApplier {
  constructor(
    private readonly header: HeaderFactory,
    private readonly onChange: ((change: LeaseOutcome) => void) | undefined,
  ) {}

  grant(batch: WriteBatch, grant: LeaseGrant, limits: ApplyLimits): CommandOutcome {
    const leases = batch.leases;
    if (leases.has(grant.id)) return failure(new CairnError(ErrorCode.ERROR_CODE_LEASE_EXISTS, `lease ${grant.id} already exists`));
    if (limits.maxLeases > 0 && leases.size >= limits.maxLeases) {
      return failure(
        new CairnError(
          ErrorCode.ERROR_CODE_TOO_MANY_LEASES,
          `the cluster already holds ${leases.size} leases; the limit is ${limits.maxLeases} (--max-leases)`,
        ),
      );
    }
    batch.grantLease(grant.id, grant.ttl);
    this.onChange?.({ kind: 'granted', id: grant.id, ttl: grant.ttl });
    const response: LeaseGrantResponse = { header: this.header(batch.revision), id: grant.id, ttl: grant.ttl };
    return { ok: true, response };
  }

  async revoke(batch: WriteBatch, id: number): Promise<CommandOutcome> {
    if (!batch.leases.has(id)) return failure(leaseNotFound(id));
    await this.end(batch, id);
    const response: LeaseRevokeResponse = { header: this.header(batch.revision) };
    return { ok: true, response };
  }

  /** Leases the leader found expired; any already gone (revoked meanwhile) are skipped. */
  async expire(batch: WriteBatch, ids: readonly number[]): Promise<CommandOutcome> {
    for (const id of ids) if (batch.leases.has(id)) await this.end(batch, id);
    const response: LeaseRevokeResponse = { header: this.header(batch.revision) };
    return { ok: true, response };
  }

  checkpoint(batch: WriteBatch, remaining: readonly LeaseRemaining[]): CommandOutcome {
    for (const { id, remainingMs } of remaining) {
      const lease = batch.leases.get(id);
      if (lease === undefined || lease.remainingMs === remainingMs) continue;
      lease.remainingMs = remainingMs;
      batch.storeLease(lease);
    }
    const response: LeaseRevokeResponse = { header: this.header(batch.revision) };
    return { ok: true, response };
  }

  /** Deletes every key of the lease in one transaction, so at one revision, then the lease. */
  private async end(batch: WriteBatch, id: number): Promise<void> {
    const names = [...batch.leases.get(id)!.keys].sort();
    const txn = batch.beginTxn();
    try {
      for (const name of names) await txn.deleteRange(keyBytes(name), EMPTY, false);
    } finally {
      batch.endTxn(txn);
    }
    batch.removeLease(id);
    this.onChange?.({ kind: 'removed', id });
  }
}

function failure(error: CairnError): CommandOutcome {
  return { ok: false, error };
}
