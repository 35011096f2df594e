import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EngineName } from '../config.js';
import { AbstractLevelEngine, type AbstractLevelLike } from './abstract-level-engine.js';
import type { StorageEngine } from './engine.js';

const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

/**
 * Opens the node's database under dataDir. Each engine keeps its files in its own
 * subdirectory so that a data dir written by one engine is never misread by the other.
 */
export async function openEngine(engine: EngineName, dataDir: string): Promise<StorageEngine> {
  const location = path.join(dataDir, engine);
  const other = engine === 'rocksdb' ? 'leveldb' : 'rocksdb';
  if (!(await exists(location)) && (await exists(path.join(dataDir, other)))) {
    throw new Error(`${dataDir} holds a ${other} database; start with --engine ${other} or use another --data-dir`);
  }
  await mkdir(location, { recursive: true });
  let db: AbstractLevelLike;
  if (engine === 'rocksdb') {
    const { RocksLevel } = await import('@nxtedition/rocksdb');
    db = new RocksLevel(location, BUFFERS) as unknown as AbstractLevelLike;
  } else {
    const { ClassicLevel } = await import('classic-level');
    db = new ClassicLevel<Buffer, Buffer>(location, BUFFERS);
  }
  await db.open();
  return new AbstractLevelEngine(engine, db);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
