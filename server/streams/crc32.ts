import zlib from 'node:zlib';

/** CRC-32 (IEEE, as zlib/gzip), continuing from `initial` so large inputs can be fed in pieces. */
export type Crc32 = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | undefined;

/** Portable fallback for Node versions whose zlib lacks crc32 (added in 20.15). */
export const tableCrc32: Crc32 = (data, initial = 0) => {
  table ??= buildTable();
  let crc = ~initial >>> 0;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
};

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

const native = (zlib as { crc32?: Crc32 }).crc32;

export const crc32: Crc32 = native !== undefined ? (data, initial = 0) => native(data, initial) : tableCrc32;
