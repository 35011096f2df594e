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
  /** The log or hard state is behind what the member recorded having promised (durable-promise.ts). */
  BehindPromise: 'BEHIND_PROMISE',
  /** The data dir (or its record) belongs to another member or cluster. */
  WrongMember: 'WRONG_MEMBER',
  /** A file the database needs is missing. */
  MissingFile: 'MISSING_FILE',
  /** The engine found a block or file whose checksum does not match. */
  ChecksumMismatch: 'CHECKSUM_MISMATCH',
  /** A file of the database is shorter than the engine recorded. */
  TruncatedFile: 'TRUNCATED_FILE',
  /** The data dir cannot be written (permissions, read-only file system). */
  NotWritable: 'NOT_WRITABLE',
  /** Another process holds the database's lock. */
  Locked: 'LOCKED',
  /** The data dir holds a database of the other engine. */
  WrongEngine: 'WRONG_ENGINE',
  /** The disk is full. */
  DiskFull: 'DISK_FULL',
  /** Any other failure to open the database. */
  OpenFailed: 'OPEN_FAILED',
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
