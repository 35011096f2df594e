/**
 * Integrity failures of stored data. A node that meets one must refuse to start (or to
 * install the snapshot) rather than drop or guess: acknowledged data may be at stake.
 */
export const StorageErrorCode = {
  /** A record failed its checksum or could not be decoded. */
  CorruptRecord: 'CORRUPT_RECORD',
  /** Records decode but contradict each other (gap in indexes, terms going back, ...). */
  InconsistentLog: 'INCONSISTENT_LOG',
  /** A state-machine snapshot stream is malformed, truncated or fails its checksum. */
  CorruptSnapshot: 'CORRUPT_SNAPSHOT',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageIntegrityError extends Error {
  override readonly name = 'StorageIntegrityError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
  }
}
