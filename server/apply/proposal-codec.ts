import { Proposal } from '../../gen/ts/cairn/internal/v1/command.js';
import type { ApplyLimits, Command } from '../../gen/ts/cairn/internal/v1/command.js';
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

function corrupt(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.CorruptRecord, message);
}
