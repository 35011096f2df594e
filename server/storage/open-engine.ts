import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LEVELDB_MIN_OPEN_FILES, type EngineName } from '../config.js';
import { AbstractLevelEngine, type AbstractLevelEngineOptions } from './abstract-level-engine.js';
import type { AbstractLevelLike } from './abstract-level-like.js';
import type { StorageEngine } from './engine.js';
import { recoverEngineSwap } from './engine-swap.js';
import { diagnoseOpenError } from './open-errors.js';
import { StorageErrorCode, StorageIntegrityError } from './storage-error.js';
import { logGeneration, WalSyncer } from './wal-syncer.js';

const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

/** The engine's own memory: bounded by configuration, not by write volume. */
export interface EngineMemory {
  /** Block cache (RocksDB) or LRU cache (LevelDB), in bytes. */
  readonly cacheBytes: number;
  /**
   * Memtable budget in bytes. RocksDB: memtables of a quarter of it each (level compaction,
   * at most six, so 1.5x in the worst case of a stalled flush); LevelDB: one write buffer
   * of a quarter of it. RocksDB's default otherwise is 64 MiB per memtable.
   */
  readonly memtableBytes: number;
  /**
   * LevelDB: files it keeps open. Its table files are memory-mapped for reads, so the pages
   * it touched count in the process's RSS while the table stays in its cache (config.ts,
   * LEVELDB_MIN_OPEN_FILES). RocksDB reads with pread into its block cache and ignores it.
   */
  readonly maxOpenFiles: number;
}

export const DEFAULT_ENGINE_MEMORY: EngineMemory = {
  cacheBytes: 8 * 1024 * 1024,
  memtableBytes: 16 * 1024 * 1024,
  maxOpenFiles: LEVELDB_MIN_OPEN_FILES,
};

/** Where the engine keeps its files under the data dir. */
export function engineLocation(engine: EngineName, dataDir: string): string {
  return path.join(dataDir, engine);
}

/**
 * Opens the node's database under dataDir. Each engine keeps its files in its own
 * subdirectory so that a data dir written by one engine is never misread by the other.
 * Every failure is a StorageIntegrityError naming the path, what is wrong and the fix.
 * A defragment that a crash interrupted is finished or undone first (engine-swap.ts).
 */
export async function openEngine(
  engine: EngineName,
  dataDir: string,
  memory: EngineMemory = DEFAULT_ENGINE_MEMORY,
  hooks: Pick<AbstractLevelEngineOptions, 'onRebuildStep'> & { onRecovered?: (done: string[]) => void } = {},
): Promise<StorageEngine> {
  const location = engineLocation(engine, dataDir);
  const other = engine === 'rocksdb' ? 'leveldb' : 'rocksdb';
  const recovered = await recoverEngineSwap(location);
  if (recovered.length > 0) hooks.onRecovered?.(recovered);
  if (!(await exists(location)) && (await exists(path.join(dataDir, other)))) {
    throw wrongEngine(`${dataDir} holds a ${other} database; start with --engine ${other} or use another --data-dir`);
  }
  await checkWritable(dataDir);
  await mkdir(location, { recursive: true });
  await checkEngineFiles(engine, location);
  const open = (at: string): Promise<AbstractLevelLike> => openDatabase(engine, at, memory);
  const db = await open(location);
  // RocksDB's binding writes (and fsyncs) on the calling thread; LevelDB's runs its writes on
  // libuv's pool already.
  const syncsWal = engine === 'rocksdb';
  return new AbstractLevelEngine(engine, db, {
    ...(syncsWal ? { walSyncer: new WalSyncer(location, () => logGeneration(db)) } : {}),
    files: { location, open, syncsWal },
    ...(hooks.onRebuildStep === undefined ? {} : { onRebuildStep: hooks.onRebuildStep }),
  });
}

/** Opens (creating if missing) a database of the engine at a directory, with Cairn's options. */
async function openDatabase(engine: EngineName, location: string, memory: EngineMemory): Promise<AbstractLevelLike> {
  let db: AbstractLevelLike;
  if (engine === 'rocksdb') {
    const { RocksLevel } = await import('@nxtedition/rocksdb');
    db = new RocksLevel(location, {
      ...BUFFERS,
      cacheSize: memory.cacheBytes,
      compaction: 'level',
      memtableMemoryBudget: memory.memtableBytes,
    }) as unknown as AbstractLevelLike;
  } else {
    const { ClassicLevel } = await import('classic-level');
    db = new ClassicLevel<Buffer, Buffer>(location, {
      ...BUFFERS,
      cacheSize: memory.cacheBytes,
      writeBufferSize: Math.max(1024 * 1024, Math.floor(memory.memtableBytes / 4)),
      maxOpenFiles: memory.maxOpenFiles,
    });
  }
  try {
    await db.open();
  } catch (err) {
    throw diagnoseOpenError(err, location);
  }
  return db;
}

/**
 * A probe write: a read-only or full disk is named (with the path and the fix) before the
 * engine, or the member's first own file, gives a vaguer error. Creates the data dir if needed.
 */
export async function checkWritable(dataDir: string): Promise<void> {
  const probe = path.join(dataDir, '.write-probe');
  try {
    await mkdir(dataDir, { recursive: true });
    await writeFile(probe, 'cairn');
    await rm(probe, { force: true });
  } catch (err) {
    throw diagnoseOpenError(err, dataDir);
  }
}

/**
 * RocksDB reads LevelDB's files without complaint, and LevelDB fails on RocksDB's with an
 * obscure message; the files each writes tell them apart (RocksDB writes IDENTITY and
 * OPTIONS-*, LevelDB its tables as *.ldb).
 */
async function checkEngineFiles(engine: EngineName, location: string): Promise<void> {
  const files = await readdir(location);
  if (!files.includes('CURRENT')) return;
  const rocksdbFiles = files.some((f) => f === 'IDENTITY' || f.startsWith('OPTIONS-'));
  if (engine === 'rocksdb' && !rocksdbFiles) {
    throw wrongEngine(
      `${location} holds a LevelDB database, not a RocksDB one; move it to the leveldb directory and start with --engine leveldb`,
    );
  }
  if (engine === 'leveldb' && rocksdbFiles) {
    throw wrongEngine(
      `${location} holds a RocksDB database, not a LevelDB one; move it to the rocksdb directory and start with --engine rocksdb`,
    );
  }
}

function wrongEngine(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.WrongEngine, message);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
