import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { StorageErrorCode, StorageIntegrityError } from './storage-error.js';

/**
 * What this member has durably promised to its peers: its hard state (term, vote, commit)
 * and a position of its log (index and term). Kept in a small file beside the database,
 * outside the engine, so that an engine that silently drops the tail of its write-ahead log
 * (RocksDB's default recovery does, and @nxtedition/rocksdb exposes no setting to stop it)
 * cannot lose the record together with the log. At start the member refuses to run when its
 * log or hard state is behind this record.
 */
export interface DurablePromise {
  readonly clusterId: number;
  readonly memberId: number;
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
  /** A log position the log held durably; the log must still hold it (or a snapshot past it). */
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export const DURABLE_PROMISE_FILE = 'durable-promise.json';
const FORMAT_VERSION = 1;

/** Reads the record; undefined when the file does not exist. A damaged record is refused. */
export async function readDurablePromise(dataDir: string): Promise<DurablePromise | undefined> {
  const file = path.join(dataDir, DURABLE_PROMISE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const damaged = (detail: string): StorageIntegrityError =>
    new StorageIntegrityError(
      StorageErrorCode.ChecksumMismatch,
      `${file}: ${detail}. The record of what this member promised its peers is damaged; ` +
        'bring the member back with `cairn serve --discard-local-data-and-rejoin` (it receives a snapshot from the leader)',
    );
  let parsed: { version?: unknown; crc?: unknown; promise?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw damaged('not valid JSON (truncated or overwritten?)');
  }
  if (parsed.version !== FORMAT_VERSION) throw damaged(`unknown format version ${String(parsed.version)}`);
  const promise = parsed.promise as DurablePromise | undefined;
  if (typeof promise !== 'object' || promise === null) throw damaged('no promise in the record');
  const fields = ['clusterId', 'memberId', 'term', 'vote', 'commit', 'lastIndex', 'lastTerm'] as const;
  for (const f of fields) if (!(Number.isSafeInteger(promise[f]) && promise[f] >= 0)) throw damaged(`bad ${f}`);
  if (parsed.crc !== checksum(promise)) throw damaged('checksum mismatch');
  return promise;
}

/**
 * Replaces the record atomically and durably: a temporary file, fsync, rename, fsync of
 * the directory. A crash leaves either the old record or the new one.
 */
export async function writeDurablePromise(dataDir: string, promise: DurablePromise): Promise<void> {
  await stageDurablePromise(dataDir, promise);
  await publishDurablePromise(dataDir);
  await syncDirectory(dataDir);
}

/**
 * First half of a replacement: the new record, written and synced under a temporary name.
 * Until it is published it counts for nothing (a crash leaves the old record in force), so
 * it may be written before the state it describes is durable, alongside that state's write.
 */
export async function stageDurablePromise(dataDir: string, promise: DurablePromise): Promise<void> {
  const body = JSON.stringify({ version: FORMAT_VERSION, crc: checksum(promise), promise }) + '\n';
  const handle = await open(stagedFile(dataDir), 'w');
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Second half: the staged record replaces the current one (an atomic rename). The new name
 * is durable once the directory is synced (syncDirectory); until then a power loss may
 * bring the previous record back, which claims less, never more.
 */
export async function publishDurablePromise(dataDir: string): Promise<void> {
  await rename(stagedFile(dataDir), path.join(dataDir, DURABLE_PROMISE_FILE));
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function stagedFile(dataDir: string): string {
  return path.join(dataDir, `${DURABLE_PROMISE_FILE}.tmp`);
}

export async function removeDurablePromise(dataDir: string): Promise<void> {
  await unlink(path.join(dataDir, DURABLE_PROMISE_FILE)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** The checksum covers the fields in a fixed order, independent of JSON key order. */
function checksum(p: DurablePromise): number {
  const text = [p.clusterId, p.memberId, p.term, p.vote, p.commit, p.lastIndex, p.lastTerm].join(',');
  return crc32(Buffer.from(text, 'utf8'));
}
