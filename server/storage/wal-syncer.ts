import { readdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { AbstractLevelLike } from './abstract-level-like.js';
import { datasyncFd } from './fd-calls.js';

/** RocksDB's write-ahead log files: `000123.log` (its info logs are `LOG`, `LOG.old.*`). */
const WAL_FILE = /^\d+\.log$/;

/**
 * Makes RocksDB's write-ahead log durable from libuv's thread pool instead of the event loop.
 *
 * Why: `@nxtedition/rocksdb` performs a batch write synchronously on the calling thread, and
 * with `sync: true` that includes the fsync of the log: 2-3 ms on this project's disks during
 * which the member's only JavaScript thread can neither decode requests nor answer them. At a
 * few hundred synced batches a second that is most of the thread's time.
 *
 * So a synced write is done in two steps: the batch is written with `sync: false` (RocksDB
 * appends the record to the current log file and hands it to the kernel before returning:
 * its logs are flushed after every write unless `manual_wal_flush` is set, which Cairn never
 * sets), then `sync()` fdatasyncs every log file in the directory on a pool thread and
 * resolves once that round finished. A log file that vanished between the write and the round
 * was retired by a flush, which RocksDB makes durable (SST files and MANIFEST synced) before
 * deleting a log; a log file seen for the first time also has its directory entry synced, as
 * RocksDB does for a new log before a synced write.
 *
 * The listing is skipped while RocksDB's log can't have switched: `logGeneration` (RocksDB's
 * `rocksdb.current-super-version-number`) changes whenever the memtable is switched, and a
 * new log file is only ever made by a memtable switch (SwitchMemtable creates the log, then
 * installs the new super version, under the database's mutex and before the write that goes
 * into the new log returns). So a round that reads the same generation as the round that
 * last listed sees the same log files (at most some retired since, whose handles are
 * harmless to fdatasync until the next listing drops them). It is read before listing: a
 * switch in between makes the next round list again. Without it, every round lists.
 *
 * Group commit: every write awaiting `sync()` while a round runs shares the next round, which
 * starts after it (a running round may have listed the files before that write). Rounds never
 * overlap, and resolve in the order they were asked for.
 *
 * Fail-stop: after a failed fsync the kernel may have dropped the dirty pages it could not
 * write, so a later fsync that succeeds proves nothing. The first failure is kept and every
 * later `sync()` rejects with it.
 */
export class WalSyncer {
  private readonly handles = new Map<string, FileHandle>();
  /** The log generation at the last listing; undefined: list on the next round. */
  private listedGeneration: string | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    private readonly directory: string,
    /** Changes whenever the engine may have made a new log file (see above); undefined when unknown. */
    private readonly logGeneration: () => string | undefined = () => undefined,
  ) {}

  /** Resolves once every log record written before this call is on the disk. */
  sync(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.queued !== undefined) return this.queued; // starts after this call: it covers it
    if (this.running === undefined) return this.startRound();
    this.queued = this.running.then(noop, noop).then(() => {
      this.queued = undefined;
      if (this.failure !== undefined) throw this.failure;
      return this.startRound();
    });
    return this.queued;
  }

  /** Waits for the rounds asked for so far, then closes the log files it holds open. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queued?.catch(noop);
    await this.running?.catch(noop);
    await Promise.all([...this.handles.values()].map((h) => h.close().catch(noop)));
    this.handles.clear();
  }

  private startRound(): Promise<void> {
    const round = this.syncLogFiles().then(
      () => {
        this.running = undefined;
      },
      (error: unknown) => {
        this.running = undefined;
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        throw this.failure;
      },
    );
    this.running = round;
    return round;
  }

  private async syncLogFiles(): Promise<void> {
    if (this.closed) throw new Error(`the write-ahead log of ${this.directory} is closed`);
    const generation = this.logGeneration();
    const newFile = generation === undefined || generation !== this.listedGeneration ? await this.listLogFiles(generation) : false;
    await Promise.all([...this.handles.values()].map((handle) => datasyncFd(handle.fd)));
    if (newFile) await syncDirectory(this.directory);
  }

  /** Opens the log files not yet held and closes those gone; true when a new one was opened. */
  private async listLogFiles(generation: string | undefined): Promise<boolean> {
    // Not remembered until the listing is complete: a failed one is tried again next round.
    this.listedGeneration = undefined;
    // Listed on the event loop, on purpose: reading a directory entry list is a syscall of a
    // few microseconds, where a round trip through libuv's pool cost 3x the CPU and, on a
    // busy machine, 0.3 ms or more of latency in series with every synced write (profiled:
    // 2-5 % of a member's main thread under puts).
    const present = new Set(readdirSync(this.directory).filter((name) => WAL_FILE.test(name)));
    for (const [name, handle] of this.handles) {
      if (present.has(name)) continue;
      this.handles.delete(name);
      await handle.close();
    }
    let newFile = false;
    for (const name of present) {
      if (this.handles.has(name)) continue;
      const handle = await openIfPresent(path.join(this.directory, name));
      if (handle === undefined) continue; // retired by a flush since the listing: durable in SST files
      this.handles.set(name, handle);
      newFile = true;
    }
    this.listedGeneration = generation;
    return newFile;
  }
}

/**
 * The WalSyncer's log generation for a RocksDB handle: its default column family's super
 * version number (the only column family Cairn uses). Undefined where the binding has no
 * properties (the syncer then lists every round).
 */
export function logGeneration(db: Pick<AbstractLevelLike, 'getProperty'>): string | undefined {
  return db.getProperty?.('rocksdb.current-super-version-number');
}

async function openIfPresent(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function noop(): void {}
