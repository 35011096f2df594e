import type { AuthCommand } from '../../gen/ts/cairn/internal/v1/auth.js';
import type { AlarmCommand, ApplyLimits, Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type {
  CompactRequest,
  CompactResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '../../gen/ts/cairn/v1/kv.js';
import type { KeyValue, ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import { CairnError, compactedError, ErrorCode, futureRevisionError } from '../errors.js';
import { invariant } from '../invariant.js';
import { rangeContains, toKeyRange, type KeyRange } from '../mvcc/key-range.js';
import type { WriteBatch } from '../mvcc/write-batch.js';
import type { WriteTxn } from '../mvcc/write-txn.js';
import { addsData } from './adds-data.js';
import type { AlarmStore } from './alarm-store.js';
import type { AuthStore } from './auth/auth-store.js';
import { commandNeeds, leaseRevokeNeeds } from './auth/key-needs.js';
import { compareHolds } from './compare.js';
import { LeaseApplier, leaseNotFound, type LeaseOutcome } from './lease-applier.js';
import type { CommandOutcome, HeaderFactory } from './outcome.js';

export type { HeaderFactory } from './outcome.js';

/**
 * A write made by an earlier operation of the transaction being checked, in execution order.
 * ignore_value/ignore_lease need the key to exist when the put runs, which depends on the
 * puts and deletes before it in the same transaction, not only on the state before it.
 */
type PlannedWrite = { readonly put: string; readonly lease: number } | { readonly deleted: KeyRange };

const NO_LIMITS: ApplyLimits = { maxLeases: 0, maxKeysPerLease: 0 };

/** A transaction with the branch chosen for it and for each transaction nested in it. */
interface TxnPlan {
  succeeded: boolean;
  ops: RequestOp[];
  nested: Map<TxnRequest, TxnPlan>;
}

/**
 * Executes committed commands against the MVCC store. Deterministic: the same commands in
 * the same order produce the same revisions and data on every member. A command either
 * applies whole or fails with a CairnError before changing anything, so every check that
 * can fail runs before the first write.
 */
export class Applier {
  private readonly leases: LeaseApplier;
  /** The limits of the command being applied (they travel with it; see command.proto). */
  private limits: ApplyLimits = NO_LIMITS;

  constructor(
    private readonly header: HeaderFactory,
    private readonly auth: AuthStore,
    private readonly alarms: AlarmStore,
    /** Told about every lease change applied, after it is in the batch (the lessor's bookkeeping). */
    onLeaseChange?: (change: LeaseOutcome) => void,
  ) {
    this.leases = new LeaseApplier(header, onLeaseChange);
  }

  /** limits: the proposer's, carried in the proposal (none when absent, as in entries from before leases). */
  async apply(batch: WriteBatch, command: Command, limits: ApplyLimits = NO_LIMITS): Promise<CommandOutcome> {
    const request = command.request;
    if (request === undefined) return failure(new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'empty command'));
    // Auth changes touch no key and make no revision: they write auth records into the batch.
    if (request.$case === 'auth') return this.applyAuth(batch, request.auth);
    if (request.$case === 'alarm') return this.applyAlarm(batch, request.alarm);
    // While a CORRUPT alarm is active nothing changes the key space (etcd's corrupt
    // applier): checked here, at the same point of the log on every member. A checkpoint
    // only records TTLs; lease expiries wait, like every other write.
    if (request.$case !== 'leaseCheckpoint') {
      const refusal = this.alarms.writeRefusal();
      if (refusal !== undefined) return failure(refusal);
    }
    // A NOSPACE alarm refuses only what may grow the store, so that deleting and
    // compacting can bring usage back under the quota (etcd's capped applier).
    if (addsData(command)) {
      const refusal = this.alarms.spaceRefusal();
      if (refusal !== undefined) return failure(refusal);
    }
    // The proposer checked the caller's permissions; a change applied since (an earlier
    // entry of the log) may have taken them away. Same state, same verdict on every member.
    if (command.checkedAs !== '' && this.auth.enabled) {
      const needs = request.$case === 'leaseRevoke' ? leaseRevokeNeeds(attachedKeys(batch, request.leaseRevoke.id)) : commandNeeds(command);
      const refusal = this.auth.refusal(command.checkedAs, needs);
      if (refusal !== undefined) return failure(refusal);
    }
    this.limits = limits;
    // Lease commands manage their own transactions: an expiry ends several leases, each at its own revision.
    switch (request.$case) {
      case 'leaseGrant':
        return this.leases.grant(batch, request.leaseGrant, this.limits);
      case 'leaseRevoke':
        return this.leases.revoke(batch, request.leaseRevoke.id);
      case 'leaseExpire':
        return this.leases.expire(batch, request.leaseExpire.ids);
      case 'leaseCheckpoint':
        return this.leases.checkpoint(batch, request.leaseCheckpoint.remaining);
      default:
        break;
    }
    const txn = batch.beginTxn();
    try {
      switch (request.$case) {
        case 'put':
          return { ok: true, response: await this.put(txn, request.put) };
        case 'deleteRange':
          return { ok: true, response: await this.deleteRange(txn, request.deleteRange) };
        case 'txn':
          return { ok: true, response: await this.txn(txn, request.txn) };
        case 'compact':
          return { ok: true, response: this.compact(batch, txn, request.compact) };
      }
      return failure(new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'unknown command'));
    } catch (err) {
      if (err instanceof CairnError) {
        invariant(!txn.changed, () => `command failed after changing the store: ${err.message}`);
        return failure(err);
      }
      throw err;
    } finally {
      batch.endTxn(txn);
    }
  }

  private applyAlarm(batch: WriteBatch, command: AlarmCommand): CommandOutcome {
    try {
      this.alarms.apply(batch, command);
      return { ok: true, response: { header: this.header(batch.revision) } };
    } catch (err) {
      if (err instanceof CairnError) return failure(err);
      throw err;
    }
  }

  private applyAuth(batch: WriteBatch, command: AuthCommand): CommandOutcome {
    try {
      this.auth.apply(batch, command);
      return { ok: true, response: { header: this.header(batch.revision) } };
    } catch (err) {
      if (err instanceof CairnError) return failure(err);
      throw err;
    }
  }

  private async put(txn: WriteTxn, req: PutRequest): Promise<PutResponse> {
    const lookup = this.checkPut(txn, req, []);
    if (lookup !== undefined) await lookup;
    const prevKv = await this.doPut(txn, req);
    return { header: this.header(revisionAfter(txn)), prevKv };
  }

  private async deleteRange(txn: WriteTxn, req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    const { deleted, prevKvs } = await txn.deleteRange(req.key, req.rangeEnd, req.prevKv);
    return { header: this.header(revisionAfter(txn)), deleted, prevKvs };
  }

  private async txn(txn: WriteTxn, req: TxnRequest): Promise<TxnResponse> {
    // Every compare, nested ones included, is judged against the state before the
    // transaction; then the chosen operations are checked; only then does anything change.
    const plan = await this.plan(txn, req);
    await this.checkPlan(txn, plan, []);
    const responses = await this.execute(txn, plan);
    const header = this.header(revisionAfter(txn));
    return { header, succeeded: plan.succeeded, responses: fillHeaders(responses, header) };
  }

  private compact(batch: WriteBatch, txn: WriteTxn, req: CompactRequest): CompactResponse {
    if (req.revision > txn.baseRevision) throw futureRevisionError(req.revision, txn.baseRevision);
    if (req.revision <= batch.compactedRevision) throw compactedError(req.revision, batch.compactedRevision);
    batch.compact(req.revision);
    return { header: this.header(txn.baseRevision) };
  }

  private async plan(txn: WriteTxn, req: TxnRequest): Promise<TxnPlan> {
    let succeeded = true;
    for (const compare of req.compare) {
      if (!(await compareHolds(txn, compare))) {
        succeeded = false;
        break;
      }
    }
    const ops = succeeded ? req.success : req.failure;
    const nested = new Map<TxnRequest, TxnPlan>();
    for (const op of ops) {
      if (op.request?.$case === 'requestTxn') nested.set(op.request.requestTxn, await this.plan(txn, op.request.requestTxn));
    }
    return { succeeded, ops, nested };
  }

  /** planned: the writes of earlier operations of the transaction, for ignore_value/ignore_lease. */
  private async checkPlan(txn: WriteTxn, plan: TxnPlan, planned: PlannedWrite[]): Promise<void> {
    for (const op of plan.ops) {
      const request = op.request;
      if (request === undefined) throw new CairnError(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'empty operation in txn');
      switch (request.$case) {
        case 'requestPut':
          await this.checkPut(txn, request.requestPut, planned);
          planned.push({ put: request.requestPut.key.toString('latin1'), lease: request.requestPut.lease });
          break;
        case 'requestRange': {
          const rev = request.requestRange.revision;
          if (rev > txn.baseRevision) throw futureRevisionError(rev, txn.baseRevision);
          if (rev > 0 && rev < txn.compactedRevision) throw compactedError(rev, txn.compactedRevision);
          break;
        }
        case 'requestDeleteRange':
          // Was ignored: [delete k, put k ignore_value] passed the check (k existed before the
          // txn), then doPut found no current version after the delete and crashed the writer.
          planned.push({ deleted: toKeyRange(request.requestDeleteRange.key, request.requestDeleteRange.rangeEnd) });
          break;
        case 'requestTxn':
          await this.checkPlan(txn, plan.nested.get(request.requestTxn)!, planned);
          break;
      }
    }
  }

  /**
   * Throws if the put may not run; returns a promise only when the check must read the store
   * (ignore_value, ignore_lease), so that a plain put allocates no promise for it.
   */
  private checkPut(txn: WriteTxn, req: PutRequest, planned: readonly PlannedWrite[]): Promise<void> | undefined {
    if (req.lease !== 0) this.checkAttach(txn, req.key.toString('latin1'), req.lease, planned);
    return req.ignoreValue || req.ignoreLease ? checkExists(txn, req.key, planned) : undefined;
  }

  /**
   * The lease must exist, and may not end up with more than max_keys_per_lease keys, counting
   * the keys earlier puts of the same transaction attach to it.
   */
  private checkAttach(txn: WriteTxn, name: string, leaseId: number, planned: readonly PlannedWrite[]): void {
    const lease = txn.leases.get(leaseId);
    if (lease === undefined) throw leaseNotFound(leaseId);
    const max = this.limits.maxKeysPerLease;
    if (max <= 0 || lease.keys.has(name)) return;
    const added = new Set<string>();
    for (const write of planned) if ('put' in write && write.lease === leaseId && !lease.keys.has(write.put)) added.add(write.put);
    added.add(name);
    if (lease.keys.size + added.size > max) {
      throw new CairnError(
        ErrorCode.ERROR_CODE_TOO_MANY_KEYS_PER_LEASE,
        `lease ${leaseId} already has ${lease.keys.size} keys attached; the limit is ${max} (--max-keys-per-lease)`,
      );
    }
  }

  /** Resolves to the previous version when req.prevKv asks for it. */
  private doPut(txn: WriteTxn, req: PutRequest): Promise<KeyValue | undefined> {
    // Not async: a plain put hands back WriteTxn.put's own promise, one level of awaiting
    // (a promise and a suspended frame per put) fewer.
    if (req.ignoreValue || req.ignoreLease) return this.putKeepingCurrent(txn, req);
    return txn.put(req.key, req.value, req.lease, req.prevKv);
  }

  /** ignore_value / ignore_lease: the put keeps the current version's value or lease. */
  private async putKeepingCurrent(txn: WriteTxn, req: PutRequest): Promise<KeyValue | undefined> {
    const current = (await txn.get(req.key))!;
    const value = req.ignoreValue ? current.value : req.value;
    const lease = req.ignoreLease ? current.lease : req.lease;
    return txn.put(req.key, value, lease, req.prevKv);
  }

  private async execute(txn: WriteTxn, plan: TxnPlan): Promise<ResponseOp[]> {
    const responses: ResponseOp[] = [];
    for (const op of plan.ops) {
      const request = op.request!;
      switch (request.$case) {
        case 'requestRange': {
          const result = await txn.range(request.requestRange);
          responses.push({ response: { $case: 'responseRange', responseRange: { header: undefined, ...result } } });
          break;
        }
        case 'requestPut': {
          const prevKv = await this.doPut(txn, request.requestPut);
          responses.push({ response: { $case: 'responsePut', responsePut: { header: undefined, prevKv } } });
          break;
        }
        case 'requestDeleteRange': {
          const { key, rangeEnd, prevKv } = request.requestDeleteRange;
          const result = await txn.deleteRange(key, rangeEnd, prevKv);
          responses.push({ response: { $case: 'responseDeleteRange', responseDeleteRange: { header: undefined, ...result } } });
          break;
        }
        case 'requestTxn': {
          const nested = plan.nested.get(request.requestTxn)!;
          const nestedResponses = await this.execute(txn, nested);
          responses.push({
            response: { $case: 'responseTxn', responseTxn: { header: undefined, succeeded: nested.succeeded, responses: nestedResponses } },
          });
          break;
        }
      }
    }
    return responses;
  }
}

/** ignore_value and ignore_lease need the key to exist when the put runs. */
async function checkExists(txn: WriteTxn, key: Buffer, planned: readonly PlannedWrite[]): Promise<void> {
  if (!(await existsWhenRun(txn, key, planned))) {
    throw new CairnError(
      ErrorCode.ERROR_CODE_KEY_NOT_FOUND,
      `key ${JSON.stringify(key.toString())} does not exist; ignore_value and ignore_lease need an existing key`,
    );
  }
}

/** Whether key exists once the planned writes before it have run. */
async function existsWhenRun(txn: WriteTxn, key: Buffer, planned: readonly PlannedWrite[]): Promise<boolean> {
  const name = key.toString('latin1');
  for (let i = planned.length - 1; i >= 0; i--) {
    const write = planned[i]!;
    if ('put' in write) {
      if (write.put === name) return true;
    } else if (rangeContains(write.deleted, name)) {
      return false;
    }
  }
  return (await txn.get(key)) !== undefined;
}

function failure(error: CairnError): CommandOutcome {
  return { ok: false, error };
}

/** The store revision once this transaction is done: its own if it wrote, else the one before. */
function revisionAfter(txn: WriteTxn): number {
  return txn.changed ? txn.main : txn.baseRevision;
}

/** Sub-responses carry the transaction's header, as etcd's do. */
function fillHeaders(responses: ResponseOp[], header: ResponseHeader): ResponseOp[] {
  for (const op of responses) {
    const r = op.response;
    if (r === undefined) continue;
    switch (r.$case) {
      case 'responseRange':
        r.responseRange.header = header;
        break;
      case 'responsePut':
        r.responsePut.header = header;
        break;
      case 'responseDeleteRange':
        r.responseDeleteRange.header = header;
        break;
      case 'responseTxn':
        r.responseTxn.header = header;
        fillHeaders(r.responseTxn.responses, header);
        break;
    }
  }
  return responses;
}

/** The keys attached to a lease (none when it does not exist: the revoke then fails as not found). */
function attachedKeys(batch: WriteBatch, id: number): Buffer[] {
  return [...(batch.leases.get(id)?.keys ?? [])].map((name) => Buffer.from(name, 'latin1'));
}
