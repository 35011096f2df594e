import type { BatchOp, ScanRange, StorageEngine } from '../storage/engine.js';
import { IMPORT_MARKER_KEY, IMPORT_STAGING_PREFIX, IMPORT_STAGING_SPAN } from '../storage/reserved-keys.js';
import { StorageErrorCode, StorageIntegrityError } from '../storage/storage-error.js';
import { decodeCounter, encodeCounter, MVCC_PREFIX } from './schema.js';
import { decodeSnapshot, SnapshotEncoder } from './snapshot-format.js';

/**
 * Streaming export and import of the state machine (the 'k' revisions and 'm' metadata
 * keyspaces) for InstallSnapshot. The stream format is in snapshot-format.ts.
 */

const META_PREFIX = 0x6d; // 'm', see schema.ts
/** 'k' through 'm' in one range: one iterator, hence one consistent view of both. */
const EXPORT_SPAN: ScanRange = { gte: Buffer.from([MVCC_PREFIX]), lt: Buffer.from([META_PREFIX + 1]) };
const STATE_SPANS: readonly ScanRange[] = [
  { gte: Buffer.from([MVCC_PREFIX]), lt: Buffer.from([MVCC_PREFIX + 1]) },
  { gte: Buffer.from([META_PREFIX]), lt: Buffer.from([META_PREFIX + 1]) },
];

export interface SnapshotOptions {
  /** Target size of exported chunks and of import write batches (default 256 KiB). */
  readonly chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 256 * 1024;
const MAX_BATCH_OPS = 4096;

const isStateKey = (key: Buffer): boolean => key.length > 0 && (key[0] === MVCC_PREFIX || key[0] === META_PREFIX);

/** Every 'k' and 'm' key as of the moment the export starts, framed and checksummed. */
export async function* exportSnapshot(engine: StorageEngine, options: SnapshotOptions = {}): AsyncIterable<Buffer> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const encoder = new SnapshotEncoder();
  let pending: Buffer[] = [encoder.header()];
  let size = pending[0]!.length;
  for await (const [key, value] of engine.scan(EXPORT_SPAN)) {
    if (!isStateKey(key)) continue; // 'l' is not ours to ship
    const frame = encoder.record(key, value);
    pending.push(frame);
    size += frame.length;
    if (size >= chunkBytes) {
      yield Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  pending.push(encoder.trailer());
  yield Buffer.concat(pending);
}

/**
 * Reads a whole snapshot stream and checks it (framing, record count, checksum, keyspaces)
 * without writing anything: to refuse bad data before accepting it. Bounded memory: one
 * record at a time.
 */
export async function verifySnapshot(chunks: AsyncIterable<Buffer>): Promise<{ records: number }> {
  let records = 0;
  for await (const [key] of decodeSnapshot(chunks)) {
    checkStateKey(key);
    records++;
  }
  return { records };
}

function checkStateKey(key: Buffer): void {
  if (!isStateKey(key))
    throw new StorageIntegrityError(
      StorageErrorCode.CorruptSnapshot,
      `snapshot stream: key ${key.toString('hex')} outside the state keyspaces`,
    );
}

/**
 * Replaces the state machine with a snapshot stream. The stream is first staged (in the
 * 's' keyspace) and fully validated: a truncated or corrupted stream is refused and the
 * existing state is untouched. Only then is the state replaced, in bounded batches, ending
 * with a synced write. A crash while replacing is finished by recoverSnapshotImport() at
 * the next start, from the staged copy. The caller re-opens MvccStore afterwards.
 */
export async function importSnapshot(
  engine: StorageEngine,
  chunks: AsyncIterable<Buffer>,
  options: SnapshotOptions = {},
): Promise<{ records: number }> {
  const batchBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if ((await engine.get(IMPORT_MARKER_KEY)) !== undefined) {
    throw new Error('an interrupted snapshot import must be finished first (recoverSnapshotImport)');
  }
  await deleteSpan(engine, IMPORT_STAGING_SPAN, batchBytes); // a previous refused attempt
  let records = 0;
  try {
    const batch = new Batcher(engine, batchBytes);
    for await (const [key, value] of decodeSnapshot(chunks)) {
      checkStateKey(key);
      await batch.add({ type: 'put', key: Buffer.concat([IMPORT_STAGING_PREFIX, key]), value });
      records++;
    }
    await batch.flush();
  } catch (err) {
    await deleteSpan(engine, IMPORT_STAGING_SPAN, batchBytes).catch(() => undefined);
    throw err;
  }
  // Synced: from here on the import is decided, and a restart completes it.
  await engine.write([{ type: 'put', key: IMPORT_MARKER_KEY, value: encodeCounter(records) }], { sync: true });
  await applyStaged(engine, batchBytes);
  return { records };
}

/**
 * Run at start, before MvccStore.open: completes an import that was decided but cut short
 * by a crash, or discards the staging of one that never got validated.
 */
export async function recoverSnapshotImport(
  engine: StorageEngine,
  options: SnapshotOptions = {},
): Promise<'none' | 'completed' | 'discarded'> {
  const batchBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if ((await engine.get(IMPORT_MARKER_KEY)) !== undefined) {
    await applyStaged(engine, batchBytes);
    return 'completed';
  }
  return (await deleteSpan(engine, IMPORT_STAGING_SPAN, batchBytes)) > 0 ? 'discarded' : 'none';
}

/** Idempotent while the marker stands: the staged copy is only dropped after it is cleared. */
async function applyStaged(engine: StorageEngine, batchBytes: number): Promise<void> {
  const expected = decodeCounter(await engine.get(IMPORT_MARKER_KEY));
  // Checked before touching the state: a damaged staging area must not replace it.
  let staged = 0;
  for await (const _ of engine.scan(IMPORT_STAGING_SPAN)) staged++;
  if (staged !== expected) {
    throw new StorageIntegrityError(StorageErrorCode.CorruptSnapshot, `staged snapshot holds ${staged} records, expected ${expected}`);
  }
  for (const span of STATE_SPANS) await deleteSpan(engine, span, batchBytes);
  const batch = new Batcher(engine, batchBytes);
  for await (const [key, value] of engine.scan(IMPORT_STAGING_SPAN)) {
    await batch.add({ type: 'put', key: key.subarray(IMPORT_STAGING_PREFIX.length), value });
  }
  await batch.flush();
  // The synced write that makes the new state durable and ends the import.
  await engine.write([{ type: 'del', key: IMPORT_MARKER_KEY }], { sync: true });
  await deleteSpan(engine, IMPORT_STAGING_SPAN, batchBytes);
}

/** Deletes every key of the span in bounded batches; returns how many. */
async function deleteSpan(engine: StorageEngine, span: ScanRange, batchBytes: number): Promise<number> {
  const batch = new Batcher(engine, batchBytes);
  let n = 0;
  // The iterator reads a snapshot, so deleting behind it is safe.
  for await (const [key] of engine.scan(span)) {
    await batch.add({ type: 'del', key });
    n++;
  }
  await batch.flush();
  return n;
}

/** Accumulates ops and writes them (unsynced) whenever the batch reaches its bound. */
class Batcher {
  private ops: BatchOp[] = [];
  private bytes = 0;

  constructor(
    private readonly engine: StorageEngine,
    private readonly maxBytes: number,
  ) {}

  async add(op: BatchOp): Promise<void> {
    this.ops.push(op);
    this.bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    if (this.bytes >= this.maxBytes || this.ops.length >= MAX_BATCH_OPS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.ops.length === 0) return;
    const ops = this.ops;
    this.ops = [];
    this.bytes = 0;
    await this.engine.write(ops, { sync: false });
  }
}
