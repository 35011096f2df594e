import { Proposal } from '../../gen/ts/cairn/internal/v1/command.js';
import type { ApplyLimits, Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type { PutRequest } from '../../gen/ts/cairn/v1/kv.js';
import { StorageErrorCode, StorageIntegrityError } from '../storage/storage-error.js';

/** A committed entry's proposal with its command present. */
export interface DecodedProposal {
  readonly id: number;
  readonly memberId: number;
  readonly command: Command;
  /** The proposer's limits (absent in entries from before leases). */
  readonly limits: ApplyLimits | undefined;
}

/**
 * Decodes the proposal in a committed entry. The entry passed its log checksum, so bytes
 * that are no proposal mean a writer that is not Cairn (or a bug), on every member alike:
 * a StorageIntegrityError naming the entry stops the member rather than skipping a write.
 */
export function decodeProposal(data: Uint8Array, index: number): DecodedProposal {
  let proposal: Proposal;
  try {
    proposal = Proposal.decode(data);
  } catch (err) {
    throw corrupt(`committed entry ${index}: undecodable proposal (${err instanceof Error ? err.message : String(err)})`);
  }
  if (proposal.command === undefined) throw corrupt(`committed entry ${index}: proposal without a command`);
  return { id: proposal.id, memberId: proposal.memberId, command: proposal.command, limits: proposal.limits };
}

/**
 * This member's proposals and committed entries, with a short cut for the commonest: a
 * plain put, or a transaction of plain puts, proposed here is applied from the command it was
 * encoded from, instead of from a fresh decode of the same bytes (in a bulk load of
 * transactions of 100 puts, that decode was a tenth of the leader's CPU).
 *
 * That is sound only if decoding the bytes would give a command the applier cannot tell from
 * the one encoded, so the short cut takes only commands made of what the generated encoder
 * and decoder carry both ways unchanged: Buffers, safe integers, booleans, well-formed
 * strings, no compares and no other operations. Other members, a restart and every other
 * command decode the bytes, as before. The proposal is found by the identity of its bytes
 * (the Raft log hands the leader the very array it proposed), never by an id the bytes
 * claim, and forgotten once applied; an entry that never applies here is forgotten with its
 * bytes.
 */
export class ProposalCodec {
  private readonly proposedHere = new WeakMap<Uint8Array, DecodedProposal>();

  /** The bytes of a proposal, for the Raft log (RaftNode's encoder). */
  readonly encode = (proposal: Proposal): Uint8Array => {
    const data = Proposal.encode(proposal).finish();
    const { command, limits } = proposal;
    if (command !== undefined && carriedUnchanged(command, limits)) {
      this.proposedHere.set(data, { id: proposal.id, memberId: proposal.memberId, command, limits });
    }
    return data;
  };

  /** The proposal in a committed entry (see decodeProposal). */
  decode(data: Uint8Array, index: number): DecodedProposal {
    const mine = this.proposedHere.get(data);
    if (mine === undefined) return decodeProposal(data, index);
    this.proposedHere.delete(data);
    return mine;
  }
}

function carriedUnchanged(command: Command, limits: ApplyLimits | undefined): boolean {
  if (!isWellFormed(command.checkedAs)) return false;
  if (limits !== undefined && !(Number.isSafeInteger(limits.maxLeases) && Number.isSafeInteger(limits.maxKeysPerLease))) return false;
  const request = command.request;
  switch (request?.$case) {
    case 'put':
      return isPlainPut(request.put);
    case 'txn': {
      const { compare, success, failure } = request.txn;
      return (
        compare.length === 0 &&
        failure.length === 0 &&
        success.every((op) => op.request?.$case === 'requestPut' && isPlainPut(op.request.requestPut))
      );
    }
    default:
      return false;
  }
}

function isPlainPut(put: PutRequest): boolean {
  return (
    Buffer.isBuffer(put.key) &&
    Buffer.isBuffer(put.value) &&
    Number.isSafeInteger(put.lease) &&
    typeof put.prevKv === 'boolean' &&
    typeof put.ignoreValue === 'boolean' &&
    typeof put.ignoreLease === 'boolean'
  );
}

/** No lone surrogate, which UTF-8 would turn into U+FFFD. */
function isWellFormed(text: string): boolean {
  return text === '' || !/[\uD800-\uDFFF]/.test(text) || Buffer.from(text, 'utf8').toString('utf8') === text;
}

function corrupt(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.CorruptRecord, message);
}
