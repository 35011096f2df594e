import { inspect } from 'node:util';
import { StorageErrorCode, StorageIntegrityError } from './storage-error.js';

/** A failure and how the operator fixes it, by what the engine or the OS said. */
interface Diagnosis {
  readonly code: StorageErrorCode;
  readonly what: string;
  readonly fix: string;
}

const RESTORE =
  'restore the data dir from a backup, or, if the other members are healthy, bring this member back with ' +
  '`cairn serve --discard-local-data-and-rejoin` (it receives a snapshot from the leader)';

/** Checked in order; the first match names the failure. */
const DIAGNOSES: readonly (readonly [RegExp, Diagnosis])[] = [
  [
    /LEVEL_LOCKED|lock file|LOCK: Resource temporarily unavailable/i,
    {
      code: StorageErrorCode.Locked,
      what: 'is locked by another process',
      fix: 'another `cairn serve` (or a tool) has this database open: stop it, or give this member another --data-dir',
    },
  ],
  [
    /No space left|ENOSPC/i,
    { code: StorageErrorCode.DiskFull, what: 'is on a full disk', fix: 'free space on that file system, then start the member again' },
  ],
  [
    /Permission denied|Read-only file system|EACCES|EROFS|EPERM/i,
    {
      code: StorageErrorCode.NotWritable,
      what: 'is not writable',
      fix: 'give the user running cairn write access to the data dir (and a file system mounted read-write)',
    },
  ],
  [
    /size mismatch|file too short|truncated|Truncated/,
    { code: StorageErrorCode.TruncatedFile, what: 'has a truncated file', fix: RESTORE },
  ],
  [/checksum mismatch/i, { code: StorageErrorCode.ChecksumMismatch, what: 'has a file that fails its checksum', fix: RESTORE }],
  [
    /VersionEdit: unknown tag|Invalid argument: .*comparator|does not match existing comparator/i,
    {
      code: StorageErrorCode.WrongEngine,
      what: 'holds files written by another storage engine',
      fix: 'start with the --engine that wrote it, or use another --data-dir',
    },
  ],
  [/No such file or directory|ENOENT|missing/i, { code: StorageErrorCode.MissingFile, what: 'is missing a file', fix: RESTORE }],
  [/Corruption|corrupt/i, { code: StorageErrorCode.ChecksumMismatch, what: 'is damaged', fix: RESTORE }],
];

/** Every message in an error's cause chain (abstract-level wraps the engine's in `cause`). */
function messages(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      parts.push(typeof code === 'string' ? `${code}: ${e.message}` : e.message);
      e = e.cause;
    } else {
      parts.push(typeof e === 'string' ? e : inspect(e));
      break;
    }
  }
  return parts.join(' <- ');
}

/** Turns an engine's failure to open into a distinct error naming the path, what is wrong and the fix. */
export function diagnoseOpenError(err: unknown, location: string): StorageIntegrityError {
  const detail = messages(err);
  const diagnosis = DIAGNOSES.find(([pattern]) => pattern.test(detail))?.[1];
  if (diagnosis === undefined) {
    return new StorageIntegrityError(StorageErrorCode.OpenFailed, `cannot open the database in ${location}: ${detail}`);
  }
  return new StorageIntegrityError(diagnosis.code, `the database in ${location} ${diagnosis.what} (${detail}); ${diagnosis.fix}`);
}

/** The log line of a member stopping on a fatal error: an I/O error says it is one, and what to do. */
export function fatalMessage(err: unknown, dataDir: string): string {
  const detail = messages(err);
  const io = /LEVEL_IO_ERROR|IO error|EIO|ENOSPC|No space left|EROFS|Read-only file system|EACCES/i.test(detail);
  if (!io) return 'fatal error; stopping the member';
  const diagnosis = DIAGNOSES.find(([pattern]) => pattern.test(detail))?.[1];
  return (
    `I/O error on the write path in ${dataDir} (${detail}); stopping the member (fail-stop) rather than run on a disk ` +
    `it cannot trust. ${diagnosis !== undefined && diagnosis.code !== StorageErrorCode.ChecksumMismatch ? `Fix: ${diagnosis.fix}. ` : ''}` +
    'Check the disk (space, permissions, kernel log), then start the member again'
  );
}
