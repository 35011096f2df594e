import { crc32 } from '../storage/crc32.js';
import { StorageErrorCode, StorageIntegrityError } from '../storage/storage-error.js';

/**
 * The state-machine snapshot stream, as sent to a follower (InstallSnapshot):
 *
 *   header   "CAIRNSNP" u32 version
 *   record   0x01 u32 keyLength u32 valueLength key value      (any number, in key order)
 *   trailer  0x02 u64 recordCount u32 crc32
 *
 * All integers big-endian. The CRC-32 covers every byte before it, so a flipped bit, a lost
 * or repeated chunk, or a cut-off stream is caught before anything is applied.
 */
export const SNAPSHOT_MAGIC = Buffer.from('CAIRNSNP');
export const SNAPSHOT_FORMAT_VERSION = 1;
const RECORD_TAG = 0x01;
const TRAILER_TAG = 0x02;
const HEADER_BYTES = SNAPSHOT_MAGIC.length + 4;
const RECORD_HEAD_BYTES = 9;
const TRAILER_BYTES = 13;
/** Caps far above Cairn's key/value limits: a damaged length must not make us allocate gigabytes. */
export const MAX_SNAPSHOT_KEY_BYTES = 64 * 1024;
export const MAX_SNAPSHOT_VALUE_BYTES = 64 * 1024 * 1024;

/** Produces the frames of one stream, keeping the running checksum and count. */
export class SnapshotEncoder {
  private crc = 0;
  private count = 0;

  header(): Buffer {
    const buf = Buffer.allocUnsafe(HEADER_BYTES);
    SNAPSHOT_MAGIC.copy(buf, 0);
    buf.writeUInt32BE(SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC.length);
    return this.sum(buf);
  }

  record(key: Buffer, value: Buffer): Buffer {
    const buf = Buffer.allocUnsafe(RECORD_HEAD_BYTES + key.length + value.length);
    buf[0] = RECORD_TAG;
    buf.writeUInt32BE(key.length, 1);
    buf.writeUInt32BE(value.length, 5);
    key.copy(buf, RECORD_HEAD_BYTES);
    value.copy(buf, RECORD_HEAD_BYTES + key.length);
    this.count++;
    return this.sum(buf);
  }

  trailer(): Buffer {
    const buf = Buffer.allocUnsafe(TRAILER_BYTES);
    buf[0] = TRAILER_TAG;
    writeU64(buf, 1, this.count);
    this.crc = crc32(buf.subarray(0, 9), this.crc);
    buf.writeUInt32BE(this.crc, 9);
    return buf;
  }

  private sum(buf: Buffer): Buffer {
    this.crc = crc32(buf, this.crc);
    return buf;
  }
}

/**
 * Parses a stream, yielding records as they arrive. The generator finishes normally only if
 * the whole stream was well formed, so a consumer must not act on the records before then.
 */
export async function* decodeSnapshot(chunks: AsyncIterable<Buffer>): AsyncGenerator<[Buffer, Buffer]> {
  const source = chunks[Symbol.asyncIterator]();
  try {
    yield* decodeFrom(new ByteQueue(source));
  } finally {
    // Stopped early (refused, or the consumer gave up): let the source close its file.
    await source.return?.();
  }
}

async function* decodeFrom(input: ByteQueue): AsyncGenerator<[Buffer, Buffer]> {
  const header = await input.take(HEADER_BYTES, 'header');
  if (!header.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) throw corrupt('not a Cairn snapshot stream (bad magic)');
  const version = header.readUInt32BE(SNAPSHOT_MAGIC.length);
  if (version !== SNAPSHOT_FORMAT_VERSION) throw corrupt(`unsupported snapshot format version ${version}`);
  let crc = crc32(header);
  let count = 0;
  for (;;) {
    const tag = await input.take(1, `record ${count + 1}`);
    crc = crc32(tag, crc);
    if (tag[0] === TRAILER_TAG) break;
    if (tag[0] !== RECORD_TAG) throw corrupt(`unknown frame tag ${tag[0]} at record ${count + 1}`);
    const lengths = await input.take(8, `record ${count + 1}`);
    crc = crc32(lengths, crc);
    const keyLength = lengths.readUInt32BE(0);
    const valueLength = lengths.readUInt32BE(4);
    if (keyLength === 0 || keyLength > MAX_SNAPSHOT_KEY_BYTES || valueLength > MAX_SNAPSHOT_VALUE_BYTES) {
      throw corrupt(`record ${count + 1} has implausible lengths (key ${keyLength}, value ${valueLength})`);
    }
    const body = await input.take(keyLength + valueLength, `record ${count + 1}`);
    crc = crc32(body, crc);
    count++;
    yield [body.subarray(0, keyLength), body.subarray(keyLength)];
  }
  const rest = await input.take(TRAILER_BYTES - 1, 'trailer');
  const storedCount = readU64(rest, 0);
  crc = crc32(rest.subarray(0, 8), crc);
  const storedCrc = rest.readUInt32BE(8);
  if (storedCount !== count) throw corrupt(`trailer counts ${storedCount} records, stream had ${count}`);
  if (storedCrc !== crc) throw corrupt(`checksum mismatch (trailer ${storedCrc}, computed ${crc})`);
  if (!(await input.atEnd())) throw corrupt('unexpected bytes after the trailer');
}

/** Reads exact byte counts out of arbitrarily sized chunks. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private available = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  async take(n: number, what: string): Promise<Buffer> {
    while (this.available < n) {
      const next = await this.source.next();
      if (next.done === true) throw corrupt(`stream truncated in ${what}`);
      if (next.value.length === 0) continue;
      this.chunks.push(next.value);
      this.available += next.value.length;
    }
    const first = this.chunks[0];
    let out: Buffer;
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const used = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, used);
        filled += used;
        if (used === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(used);
      }
    }
    this.available -= n;
    return out;
  }

  async atEnd(): Promise<boolean> {
    while (this.available === 0) {
      const next = await this.source.next();
      if (next.done === true) return true;
      this.available += next.value.length;
    }
    return false;
  }
}

function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / 2 ** 32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 2 ** 32 + buf.readUInt32BE(offset + 4);
}

function corrupt(message: string): StorageIntegrityError {
  return new StorageIntegrityError(StorageErrorCode.CorruptSnapshot, `snapshot stream: ${message}`);
}
