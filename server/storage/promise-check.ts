import path from 'node:path';
import type { RaftStorage } from '../raft/storage.js';
import { DURABLE_PROMISE_FILE, type DurablePromise } from './durable-promise.js';
import { StorageErrorCode, StorageIntegrityError } from './storage-error.js';

/** The member a data dir must belong to. */
export interface MemberIdentity {
  readonly clusterId: number;
  readonly memberId: number;
}

/** How a refused member is brought back; the only safe way, since its peers hold what it lost. */
export const REJOIN_FIX =
  'if the other members are healthy, bring this one back with `cairn serve --discard-local-data-and-rejoin` ' +
  '(it wipes this data dir and receives a snapshot from the leader); never edit the files by hand';

/**
 * Refuses a log that is behind what the member promised: a lower term, a vote changed or
 * lost within the same term, a commit index gone back, or a log that no longer holds the
 * recorded position. Each of these means the engine lost synced writes (a damaged or
 * truncated write-ahead log, a missing file), and a member that forgot them could vote
 * for a candidate missing committed entries or serve old data as current.
 *
 * `hasData` tells whether the engine held any Raft state: a record without any engine data
 * means the database itself is gone (deleted or replaced).
 */
export function checkAgainstPromise(
  dataDir: string,
  engineDir: string,
  storage: RaftStorage,
  promise: DurablePromise | undefined,
  identity: MemberIdentity,
  hasData: boolean,
): void {
  const file = path.join(dataDir, DURABLE_PROMISE_FILE);
  if (promise === undefined) {
    if (!hasData) return; // a new member
    throw new StorageIntegrityError(
      StorageErrorCode.MissingFile,
      `${file} is missing, but ${engineDir} holds a Raft log: the record of what this member promised its peers ` +
        `was deleted, so a lost log tail could not be detected; ${REJOIN_FIX}`,
    );
  }
  if (promise.clusterId !== identity.clusterId || promise.memberId !== identity.memberId) {
    throw new StorageIntegrityError(
      StorageErrorCode.WrongMember,
      `${file} belongs to member ${promise.memberId} of cluster ${promise.clusterId}, not to member ${identity.memberId} ` +
        `of cluster ${identity.clusterId}: this data dir was copied from another member; ${REJOIN_FIX}`,
    );
  }
  const { hardState: hs } = storage.initialState();
  const offset = storage.firstIndex() - 1;
  const last = storage.lastIndex();
  const problems: string[] = [];
  if (!hasData) problems.push(`the database holds no Raft state at all (was ${engineDir} removed or replaced?)`);
  if (hs.term < promise.term) problems.push(`term ${hs.term} is below the promised term ${promise.term}`);
  else if (hs.term === promise.term && promise.vote !== 0 && hs.vote !== promise.vote)
    problems.push(`the vote in term ${hs.term} is ${hs.vote}, but the member voted for ${promise.vote}`);
  if (hs.commit < promise.commit) problems.push(`commit index ${hs.commit} is below the promised ${promise.commit}`);
  if (last < promise.lastIndex) problems.push(`the log ends at ${last}, but held index ${promise.lastIndex}`);
  else if (promise.lastIndex > offset && storage.term(promise.lastIndex) !== promise.lastTerm)
    problems.push(`entry ${promise.lastIndex} has term ${storage.term(promise.lastIndex)}, but was written with term ${promise.lastTerm}`);
  else if (promise.lastIndex === offset && offset > 0 && storage.term(offset) !== promise.lastTerm)
    problems.push(`the log start ${offset} has term ${storage.term(offset)}, but was written with term ${promise.lastTerm}`);
  if (problems.length === 0) return;
  throw new StorageIntegrityError(
    StorageErrorCode.BehindPromise,
    `${engineDir} lost writes it had synced: ${problems.join('; ')} (recorded in ${file}). ` +
      `The engine's files were truncated, damaged or replaced; ${REJOIN_FIX}`,
  );
}

/**
 * The store must have applied everything the log no longer holds: a store behind the log
 * start lost applied writes (its files were damaged or replaced) and cannot catch up.
 */
export function checkStoreCoversLog(engineDir: string, appliedIndex: number, storage: RaftStorage): void {
  const logStart = storage.firstIndex() - 1;
  if (appliedIndex >= logStart) return;
  throw new StorageIntegrityError(
    StorageErrorCode.BehindPromise,
    `${engineDir}: the key-value store applied the log up to index ${appliedIndex}, but the Raft log only holds entries ` +
      `after ${logStart}: applied writes were lost; ${REJOIN_FIX}`,
  );
}
