/**
 * Writes a file from a stream of chunks, keeping its size and CRC-32 as it goes, so a reader
 * can later prove it reads back exactly what was written (checksummed-file-reader.ts). Each
 * write is awaited before the next: a caller that waits for `write` before taking more input
 * passes the disk's pace back to its source (a gRPC call it pauses, for instance), and no
 * more than one chunk is ever held.
 *
 *   const w = await ChecksummedFileWriter.create(path);
 *   for await (const chunk of source) await w.write(chunk);
 *   const file = await w.finish();   // fsynced, with its directory entry
 *   ... or on any failure: await w.discard();
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { syncDirectory } from './sync-directory.js';

/** A file on disk and what it must read back as. */
export interface ChecksummedFile {
  readonly path: string;
  readonly bytes: number;
  /** CRC-32 (IEEE) of the whole file. */
  readonly crc32: number;
}

export class ChecksummedFileWriter {
  private written = 0;
  private crc = 0;
  private handle: FileHandle | undefined;

  private constructor(
    readonly path: string,
    handle: FileHandle,
  ) {
    this.handle = handle;
  }

  /** Creates the file; refuses to overwrite one that exists (two writers must never share a file). */
  static async create(file: string): Promise<ChecksummedFileWriter> {
    return new ChecksummedFileWriter(file, await open(file, 'wx', 0o600));
  }

  get bytesWritten(): number {
    return this.written;
  }

  /** CRC-32 of the bytes written so far. */
  get checksum(): number {
    return this.crc;
  }

  async write(data: Uint8Array): Promise<void> {
    const handle = this.open('write');
    let at = 0;
    while (at < data.byteLength) {
      const { bytesWritten } = await handle.write(data, at, data.byteLength - at);
      at += bytesWritten;
    }
    this.crc = crc32(data, this.crc);
    this.written += data.byteLength;
  }

  /** Syncs the data and the directory entry, closes the file and describes it. */
  async finish(): Promise<ChecksummedFile> {
    const handle = this.open('finish');
    await handle.sync();
    await handle.close();
    this.handle = undefined;
    await syncDirectory(path.dirname(this.path));
    return { path: this.path, bytes: this.written, crc32: this.crc };
  }

  /** Closes (if still open) and deletes the file. Never throws: it runs on failure paths. */
  async discard(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }

  private open(what: string): FileHandle {
    if (this.handle === undefined) throw new Error(`${this.path}: ${what} after the file was finished or discarded`);
    return this.handle;
  }
}
