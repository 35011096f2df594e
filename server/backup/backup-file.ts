import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { BACKUP_DIGEST_BYTES } from '../mvcc/backup-export.js';
import { decodeCounter, decodeCurrentRevision, META_KEYS, MVCC_PREFIX } from '../mvcc/schema.js';
import { decodeSnapshot } from '../mvcc/snapshot-format.js';
import { decodeStoredVersion } from '../mvcc/stored-version.js';

/** A backup file that is damaged or not a backup; the message says what was found. */
export class BackupFileError extends Error {
  override readonly name = 'BackupFileError';
}

export interface BackupSummary {
  /** The store revision the backup holds. */
  readonly revision: number;
  /** The oldest revision still readable in it. */
  readonly compactedRevision: number;
  /** Records in the stream: every stored version and metadata entry. */
  readonly records: number;
  /** Bytes of the file. */
  readonly bytes: number;
  /** The SHA-256 the file ends with (hex), checked against its contents. */
  readonly sha256: string;
}

/**
 * Reads a backup file (mvcc/backup-export.ts) once from start to end, in chunks: checks the
 * stream's structure and CRC-32 and the SHA-256 at its end, and passes every record to
 * onRecord. Records arrive before the checks are complete (the file is never held in
 * memory), so a caller that acts on them must undo its work when this rejects.
 */
export async function readBackupFile(
  file: string,
  onRecord: (key: Buffer, value: Buffer) => Promise<void> | void = () => undefined,
): Promise<BackupSummary> {
  let bytes: number;
  try {
    bytes = (await stat(file)).size;
  } catch (err) {
    throw new BackupFileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (bytes < BACKUP_DIGEST_BYTES) throw new BackupFileError(`${file} is not a Cairn snapshot: ${bytes} bytes is too short`);
  const digest = createHash('sha256');
  const stored: Buffer[] = [];
  // A backup of a store nothing was applied to has no current-revision record.
  let revision = decodeCurrentRevision(undefined);
  let compactedRevision = 0;
  let records = 0;
  try {
    for await (const [key, value] of decodeSnapshot(bodyOf(file, bytes, digest, stored))) {
      records++;
      if (key.equals(META_KEYS.currentRevision)) revision = decodeCurrentRevision(value);
      else if (key.equals(META_KEYS.compactedRevision)) compactedRevision = decodeCounter(value, 'compacted revision');
      else if (key[0] === MVCC_PREFIX) decodeStoredVersion(key, value); // a version that is no version is damage
      await onRecord(key, value);
    }
  } catch (err) {
    if (err instanceof BackupFileError) throw err;
    throw new BackupFileError(`${file} is damaged or not a Cairn snapshot: ${(err as Error).message}`);
  }
  const expected = Buffer.concat(stored);
  const actual = digest.digest();
  if (!actual.equals(expected)) {
    throw new BackupFileError(
      `${file} is damaged: its SHA-256 is ${actual.toString('hex')}, but the file records ${expected.toString('hex')}; ` +
        'take a new snapshot (cairn snapshot save)',
    );
  }
  return { revision, compactedRevision, records, bytes, sha256: expected.toString('hex') };
}

/** The file's bytes before its digest, hashed on the way; the digest goes to `stored`. */
async function* bodyOf(file: string, bytes: number, digest: ReturnType<typeof createHash>, stored: Buffer[]): AsyncGenerator<Buffer> {
  const bodyBytes = bytes - BACKUP_DIGEST_BYTES;
  let offset = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const body = chunk.subarray(0, Math.max(0, Math.min(chunk.length, bodyBytes - offset)));
    if (body.length < chunk.length) stored.push(chunk.subarray(body.length));
    offset += chunk.length;
    if (body.length === 0) continue;
    digest.update(body);
    yield body;
  }
  if (offset !== bytes) throw new BackupFileError(`${file} changed size while being read (${bytes} then ${offset} bytes)`);
}
