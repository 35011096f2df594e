import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { writeAt } from './fd-calls.js';
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

/**
 * The record's file: two fixed slots of SLOT_BYTES, each a line of JSON (zero-padded) with a
 * sequence number and a checksum. A new record overwrites the slot holding the older one,
 * in place, with one O_DSYNC write: one thread-pool round trip and no directory change per
 * save, where replacing a whole file (write a temporary, fsync, rename, fsync the directory)
 * costs eight. A crash in the middle of that write damages at most the slot being written;
 * the other still holds the previous record, which claims less, never more. So the valid
 * slot with the higher sequence number is the record, and only a file with no valid slot is
 * refused.
 */
export const DURABLE_PROMISE_FILE = 'durable-promise';
/** The single-JSON-file record of earlier versions: read when the slot file is absent, replaced by it on the first save. */
export const LEGACY_DURABLE_PROMISE_FILE = 'durable-promise.json';
/** A page each, so that a torn write of one slot cannot reach into the other. */
export const SLOT_BYTES = 4096;
const FILE_BYTES = 2 * SLOT_BYTES;
const SLOT_VERSION = 2;
const LEGACY_VERSION = 1;

/** The record and where it lies in its file (the slot the next record must not overwrite). */
interface SlottedRecord {
  readonly promise: DurablePromise;
  readonly seq: number;
  readonly slot: 0 | 1;
}

/** Reads the record; undefined when neither file exists. A damaged record is refused. */
export async function readDurablePromise(dataDir: string): Promise<DurablePromise | undefined> {
  const slotted = await readSlotFile(dataDir);
  if (slotted !== undefined) return slotted.promise;
  return readLegacyFile(dataDir);
}

async function readSlotFile(dataDir: string): Promise<SlottedRecord | undefined> {
  const file = path.join(dataDir, DURABLE_PROMISE_FILE);
  const bytes = await readIfPresent(file);
  if (bytes === undefined) return undefined;
  if (bytes.length !== FILE_BYTES) throw damaged(file, `${bytes.length} bytes where ${FILE_BYTES} were written (cut short or extended?)`);
  const slots = [decodeSlot(bytes.subarray(0, SLOT_BYTES)), decodeSlot(bytes.subarray(SLOT_BYTES))] as const;
  const valid = slots.flatMap((s, slot) => (s === undefined ? [] : [{ ...s, slot: slot as 0 | 1 }]));
  if (valid.length === 0) throw damaged(file, 'neither of its two slots holds a record that passes its checksum');
  return valid.reduce((a, b) => (b.seq > a.seq ? b : a));
}

async function readLegacyFile(dataDir: string): Promise<DurablePromise | undefined> {
  const file = path.join(dataDir, LEGACY_DURABLE_PROMISE_FILE);
  const bytes = await readIfPresent(file);
  if (bytes === undefined) return undefined;
  const parsed = parseRecord(bytes.toString('utf8'), LEGACY_VERSION);
  if (typeof parsed === 'string') throw damaged(file, parsed);
  return parsed.promise;
}

/** A slot's record; undefined for an empty slot or one a torn write left damaged. */
function decodeSlot(slot: Buffer): { promise: DurablePromise; seq: number } | undefined {
  const end = slot.indexOf(0x0a);
  if (end < 0) return undefined;
  const parsed = parseRecord(slot.subarray(0, end).toString('utf8'), SLOT_VERSION);
  return typeof parsed === 'string' ? undefined : parsed;
}

/** The record in `text`, or what is wrong with it. */
function parseRecord(text: string, version: number): { promise: DurablePromise; seq: number } | string {
  let parsed: { version?: unknown; seq?: unknown; crc?: unknown; promise?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return 'not valid JSON (truncated or overwritten?)';
  }
  if (parsed.version !== version) return `unknown format version ${String(parsed.version)}`;
  const seq = version === LEGACY_VERSION ? 0 : parsed.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return 'bad sequence number';
  const promise = parsed.promise as DurablePromise | undefined;
  if (typeof promise !== 'object' || promise === null) return 'no promise in the record';
  const fields = ['clusterId', 'memberId', 'term', 'vote', 'commit', 'lastIndex', 'lastTerm'] as const;
  for (const f of fields) if (!(Number.isSafeInteger(promise[f]) && promise[f] >= 0)) return `bad ${f}`;
  if (parsed.crc !== checksum(promise, version === LEGACY_VERSION ? undefined : seq)) return 'checksum mismatch';
  return { promise, seq };
}

function damaged(file: string, detail: string): StorageIntegrityError {
  return new StorageIntegrityError(
    StorageErrorCode.ChecksumMismatch,
    `${file}: ${detail}. The record of what this member promised its peers is damaged; ` +
      'bring the member back with `cairn serve --discard-local-data-and-rejoin` (it receives a snapshot from the leader)',
  );
}

/**
 * Writes records into the slot file. Not safe for concurrent use: each `write` must finish
 * before the next starts (PromiseKeeper chains them).
 */
export class DurablePromiseFile {
  private constructor(
    private readonly dataDir: string,
    private handle: FileHandle | undefined,
    /** The latest record's sequence number and slot; the next goes to the other slot. */
    private seq: number,
    private slot: 0 | 1,
  ) {}

  /** Opens the data dir's slot file; without one, the first `write` creates it. */
  static async open(dataDir: string): Promise<DurablePromiseFile> {
    const current = await readSlotFile(dataDir);
    // The first write goes to slot 0 of a new file.
    if (current === undefined) return new DurablePromiseFile(dataDir, undefined, 0, 1);
    // A crash between creating the slot file and removing the legacy record left both: the
    // slot file's name is made durable before the legacy record goes.
    await syncDirectory(dataDir);
    await removeFiles(dataDir, [LEGACY_DURABLE_PROMISE_FILE, `${LEGACY_DURABLE_PROMISE_FILE}.tmp`]);
    const handle = await open(path.join(dataDir, DURABLE_PROMISE_FILE), constants.O_RDWR | constants.O_DSYNC);
    return new DurablePromiseFile(dataDir, handle, current.seq, current.slot);
  }

  /** Resolves once `promise` is the durable record. */
  async write(promise: DurablePromise): Promise<void> {
    const seq = this.seq + 1;
    const slot = this.slot === 0 ? 1 : 0;
    const bytes = encodeSlot(promise, seq);
    if (this.handle === undefined) {
      this.handle = await createSlotFile(this.dataDir, bytes);
    } else {
      // O_DSYNC: the write returns once the bytes are on the disk, in one pool round trip.
      // The file's size never changes, so no metadata needs a sync of its own.
      const bytesWritten = await writeAt(this.handle.fd, bytes, SLOT_BYTES, slot * SLOT_BYTES);
      if (bytesWritten !== SLOT_BYTES) throw new Error(`short write of the durable-promise record: ${bytesWritten} of ${SLOT_BYTES} bytes`);
    }
    this.seq = seq;
    this.slot = slot;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

/**
 * Writes a complete record file in one go, atomically and durably: a temporary file, fsync,
 * rename, fsync of the directory. A crash leaves either the old record (or none) or the new
 * one. Used once per data dir (and by restore), never per save.
 */
export async function writeDurablePromise(dataDir: string, promise: DurablePromise): Promise<void> {
  const handle = await createSlotFile(dataDir, encodeSlot(promise, 1));
  await handle.close();
}

/** The new file (record in slot 0, slot 1 empty), published atomically; returns it opened for slot writes. */
async function createSlotFile(dataDir: string, firstSlot: Buffer): Promise<FileHandle> {
  const file = path.join(dataDir, DURABLE_PROMISE_FILE);
  const staged = `${file}.tmp`;
  const contents = Buffer.alloc(FILE_BYTES);
  firstSlot.copy(contents, 0);
  const tmp = await open(staged, 'w');
  try {
    await tmp.writeFile(contents);
    await tmp.sync();
  } finally {
    await tmp.close();
  }
  await rename(staged, file);
  await syncDirectory(dataDir);
  // Only now is the slot file sure to survive a power loss: the legacy record may go.
  await removeFiles(dataDir, [LEGACY_DURABLE_PROMISE_FILE, `${LEGACY_DURABLE_PROMISE_FILE}.tmp`]);
  return open(file, constants.O_RDWR | constants.O_DSYNC);
}

function encodeSlot(promise: DurablePromise, seq: number): Buffer {
  const { clusterId, memberId, term, vote, commit, lastIndex, lastTerm } = promise;
  const fields = { clusterId, memberId, term, vote, commit, lastIndex, lastTerm };
  const line = JSON.stringify({ version: SLOT_VERSION, seq, crc: checksum(fields, seq), promise: fields }) + '\n';
  const slot = Buffer.alloc(SLOT_BYTES);
  const written = slot.write(line, 'utf8');
  if (written !== Buffer.byteLength(line))
    throw new Error(`a durable-promise record of ${Buffer.byteLength(line)} bytes does not fit a slot`);
  return slot;
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Every file that has held the record (and their temporaries): discarding local data removes them all. */
export const DURABLE_PROMISE_FILES = [
  DURABLE_PROMISE_FILE,
  `${DURABLE_PROMISE_FILE}.tmp`,
  LEGACY_DURABLE_PROMISE_FILE,
  `${LEGACY_DURABLE_PROMISE_FILE}.tmp`,
] as const;

export async function removeDurablePromise(dataDir: string): Promise<void> {
  await removeFiles(dataDir, DURABLE_PROMISE_FILES);
}

async function removeFiles(dataDir: string, names: readonly string[]): Promise<void> {
  for (const name of names) await rm(path.join(dataDir, name), { force: true });
}

async function readIfPresent(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The checksum covers the fields in a fixed order, independent of JSON key order, and the
 * slot's sequence number (the legacy record had none).
 */
function checksum(p: DurablePromise, seq: number | undefined): number {
  const fields = [p.clusterId, p.memberId, p.term, p.vote, p.commit, p.lastIndex, p.lastTerm];
  const text = (seq === undefined ? fields : [seq, ...fields]).join(',');
  return crc32(Buffer.from(text, 'utf8'));
}
