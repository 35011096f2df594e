/**
 * One incoming snapshot transfer, written to a file in the data dir as it arrives, so a
 * snapshot of any size is received in bounded memory (one chunk at a time). Every chunk's
 * CRC-32 is checked before it is written; the end marker must carry the byte count and the
 * CRC-32 of everything sent, and then the file is fsynced. Any refusal deletes the file.
 *
 * The transfer counts as complete only when the sender's end marker arrives (see
 * snapshot-sender.ts). The end of the call is not enough: grpc-js reports a cancelled
 * client stream to the handler as a normal end first, and a cut-short snapshot must never be
 * installed.
 *
 * Files are named incoming-<term>-<index>-<n>.tmp (n tells apart transfers of the same
 * snapshot). None outlives the process that wrote it: clearIncomingSnapshots removes what a
 * crash left before the member starts serving.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ChecksummedFileWriter, type ChecksummedFile } from '../streams/checksummed-file-writer.js';
import { crc32 } from '../streams/crc32.js';
import { TransportError, TransportErrorCode } from './errors.js';

const INCOMING = /^incoming-\d+-\d+-\d+\.tmp$/;

export type ReceivedSnapshot = ChecksummedFile;

let sequence = 0;

/** Where a member writes the snapshots it receives: `<data dir>/snap`. */
export function incomingSnapshotDir(dataDir: string): string {
  return path.join(dataDir, 'snap');
}

export class IncomingSnapshot {
  private sealed = false;

  private constructor(
    private readonly writer: ChecksummedFileWriter,
    /** Announced size, or 0 when the sender did not know it. */
    readonly totalBytes: number,
    private readonly what: string,
  ) {}

  /** Creates the file for a transfer of snapshot (term, index) in `dir` (created if missing). */
  static async create(dir: string, term: number, index: number, totalBytes: number, what: string): Promise<IncomingSnapshot> {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `incoming-${term}-${index}-${++sequence}.tmp`);
    return new IncomingSnapshot(await ChecksummedFileWriter.create(file), totalBytes, what);
  }

  get path(): string {
    return this.writer.path;
  }

  get receivedBytes(): number {
    return this.writer.bytesWritten;
  }

  /** Checks one chunk against its CRC-32 and the announced size, then writes it. */
  async add(data: Buffer, dataCrc32: number): Promise<void> {
    if (this.sealed) throw this.malformed('data after the end marker');
    if (data.byteLength === 0) return;
    const received = this.writer.bytesWritten + data.byteLength;
    if (this.totalBytes > 0 && received > this.totalBytes) throw this.malformed(`more data than the ${this.totalBytes} bytes announced`);
    const actual = crc32(data);
    if (actual !== dataCrc32)
      throw this.malformed(`the chunk ending at byte ${received} is damaged (CRC-32 ${actual}, the sender's ${dataCrc32 >>> 0})`);
    await this.writer.write(data);
  }

  /** The end marker: the sender's count and CRC-32 of all it sent. Syncs the file. */
  async seal(finalBytes: number, finalCrc32: number): Promise<ReceivedSnapshot> {
    if (this.sealed) throw this.malformed('a second end marker');
    const received = this.writer.bytesWritten;
    if (finalBytes !== received) throw this.malformed(`the sender sent ${finalBytes} bytes but ${received} arrived`);
    if (this.totalBytes > 0 && finalBytes !== this.totalBytes)
      throw this.malformed(`${finalBytes} bytes sent, ${this.totalBytes} announced`);
    if (this.writer.checksum !== finalCrc32)
      throw this.malformed(
        `checksum mismatch over the whole transfer (received ${this.writer.checksum}, the sender's ${finalCrc32 >>> 0})`,
      );
    this.sealed = true;
    return this.writer.finish();
  }

  /** Deletes the file (refused, abandoned, or not handed over). Never throws. */
  discard(): Promise<void> {
    return this.writer.discard();
  }

  /** Throws unless sealed: the call ended without the end marker. */
  checkSealed(): void {
    if (!this.sealed)
      throw this.malformed(`the transfer ended without its end marker after ${this.writer.bytesWritten} bytes (cut short?)`);
  }

  private malformed(detail: string): TransportError {
    return new TransportError(TransportErrorCode.MalformedSnapshot, `${this.what}: ${detail}`);
  }
}

/** Deletes the incoming files a crash left in `dir` (run at start); returns their names. */
export async function clearIncomingSnapshots(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const stale = names.filter((n) => INCOMING.test(n));
  for (const name of stale) await rm(path.join(dir, name), { force: true });
  return stale;
}
