/**
 * Reads a file written by ChecksummedFileWriter back in bounded chunks, and fails unless it
 * holds exactly the bytes it was written with (same size, same CRC-32). The check can only
 * be made at the end, so a consumer must treat what it read as unproven until the iteration
 * finishes normally (decodeSnapshot works that way: it stages, then commits).
 */
import { open } from 'node:fs/promises';
import type { ChecksummedFile } from './checksummed-file-writer.js';
import { crc32 } from './crc32.js';

export const DEFAULT_READ_CHUNK_BYTES = 1024 * 1024;

/** The file changed after it was written: a disk fault, or someone else wrote it. */
export class FileChecksumError extends Error {
  override readonly name = 'FileChecksumError';
}

export async function* readChecksummedFile(file: ChecksummedFile, chunkBytes = DEFAULT_READ_CHUNK_BYTES): AsyncGenerator<Buffer> {
  if (!(Number.isSafeInteger(chunkBytes) && chunkBytes > 0))
    throw new RangeError(`chunk size must be a positive integer, got ${chunkBytes}`);
  const handle = await open(file.path, 'r');
  try {
    let read = 0;
    let crc = 0;
    for (;;) {
      // A fresh buffer per chunk: the consumer may keep slices of earlier ones.
      const buf = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      read += bytesRead;
      if (read > file.bytes) throw new FileChecksumError(`${file.path}: longer than the ${file.bytes} bytes written`);
      const chunk = buf.subarray(0, bytesRead);
      crc = crc32(chunk, crc);
      yield chunk;
    }
    if (read !== file.bytes) throw new FileChecksumError(`${file.path}: ${read} bytes, but ${file.bytes} were written`);
    if (crc !== file.crc32) throw new FileChecksumError(`${file.path}: checksum mismatch (written ${file.crc32}, read ${crc})`);
  } finally {
    await handle.close();
  }
}
