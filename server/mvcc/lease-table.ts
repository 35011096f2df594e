import { LeaseRecord } from '../../gen/ts/cairn/internal/v1/command.js';
import { invariant } from '../invariant.js';

/** A live lease as every member holds it: replicated state only, no clock. */
export interface Lease {
  readonly id: number;
  /** Granted time to live, in seconds. */
  readonly ttl: number;
  /** Remaining TTL at the last checkpoint through the log, in ms; 0 when never checkpointed. */
  remainingMs: number;
  /** Names (latin1) of the keys attached to it. */
  readonly keys: Set<string>;
}

/**
 * The leases of the store and which key is attached to which. Changed only by the applier
 * (through a write batch), so it is the same on every member at the same applied index.
 * Attachments are not stored on their own: each key version carries its lease id, so they
 * are rebuilt from the live key versions when the store opens. Lease records themselves are
 * stored in the metadata keyspace (see schema.ts), in the same batch as the apply.
 */
export class LeaseTable {
  private readonly leases = new Map<number, Lease>();
  /** Key name to the lease it is attached to (only attached keys are here). */
  private readonly leaseOfKey = new Map<string, number>();

  get size(): number {
    return this.leases.size;
  }

  get(id: number): Lease | undefined {
    return this.leases.get(id);
  }

  has(id: number): boolean {
    return this.leases.has(id);
  }

  /** Every lease, in no particular order. */
  all(): IterableIterator<Lease> {
    return this.leases.values();
  }

  /** The lease key is attached to, or 0. */
  leaseOf(name: string): number {
    return this.leaseOfKey.get(name) ?? 0;
  }

  add(record: { id: number; ttl: number; remainingMs: number }): Lease {
    invariant(!this.leases.has(record.id), () => `lease ${record.id} added twice`);
    const lease: Lease = { id: record.id, ttl: record.ttl, remainingMs: record.remainingMs, keys: new Set() };
    this.leases.set(record.id, lease);
    return lease;
  }

  /** Removes a lease; its keys must have been deleted (detached) first. */
  remove(id: number): void {
    const lease = this.leases.get(id);
    invariant(lease !== undefined && lease.keys.size === 0, () => `lease ${id} removed while missing or with keys attached`);
    this.leases.delete(id);
  }

  /** A put of key with lease (0: none): detaches it from its previous lease, attaches it to the new one. */
  attach(name: string, lease: number): void {
    const previous = this.leaseOf(name);
    if (previous === lease) return;
    if (previous !== 0) this.detach(name);
    if (lease === 0) return;
    const target = this.leases.get(lease);
    invariant(target !== undefined, () => `key attached to lease ${lease}, which does not exist`);
    target.keys.add(name);
    this.leaseOfKey.set(name, lease);
  }

  /** The key was deleted. */
  detach(name: string): void {
    const previous = this.leaseOfKey.get(name);
    if (previous === undefined) return;
    this.leaseOfKey.delete(name);
    this.leases.get(previous)?.keys.delete(name);
  }
}

/** The stored form of a lease (its keys are not part of it). */
export function encodeLease(lease: Pick<Lease, 'id' | 'ttl' | 'remainingMs'>): Buffer {
  return Buffer.from(LeaseRecord.encode({ id: lease.id, ttl: lease.ttl, remainingMs: lease.remainingMs }).finish());
}

export function decodeLease(value: Buffer): LeaseRecord {
  return LeaseRecord.decode(value);
}
