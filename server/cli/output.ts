/**
 * Rendering of responses, as etcdctl: simple output prints keys and values as their raw
 * bytes (or hex with --hex); JSON output gives every byte field base64-encoded.
 */
import type { OutputFormat } from './options.js';

/** What printing a key-value needs; the SDK's KeyValue and the wire's both have it. */
export interface KeyValueBytes {
  key: Buffer;
  value: Buffer;
}

/**
 * Converts a response to plain JSON: bytes become base64 (as etcdctl's JSON, so binary
 * keys and values survive), 64-bit integers numbers, and a oneof `{ $case: 'x', x: v }`
 * becomes `{ x: v }`.
 */
export function toJson(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return jsonInteger(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$case' || v === undefined) continue;
      out[k] = toJson(v);
    }
    return out;
  }
  return value;
}

/** A 64-bit integer in JSON: a number while exact, else its decimal string. */
function jsonInteger(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/** A revision (or other int64 count) for a line of text, whether it arrives as number or bigint. */
export function formatRevision(revision: number | bigint): string {
  return revision.toString();
}

export function writeLine(line: string | Buffer = ''): void {
  process.stdout.write(line);
  process.stdout.write('\n');
}

/** Rows as a plain-text table: each column as wide as its widest cell, two spaces between. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    writeLine(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

export function printJson(value: unknown): void {
  writeLine(JSON.stringify(toJson(value)));
}

/** A key or value in simple output: its bytes as they are, or in hex with --hex. */
export function printBytes(bytes: Buffer, hex: boolean | undefined): void {
  writeLine(hex === true ? bytes.toString('hex') : bytes);
}

/** etcdctl's simple format: the key on one line, the value on the next (unless keys only). */
export function printKv(kv: KeyValueBytes, hex: boolean | undefined, keysOnly = false): void {
  printBytes(kv.key, hex);
  if (!keysOnly) printBytes(kv.value, hex);
}

/** Prints the response in JSON, or calls `simple` to print it line by line. */
export function render<T>(format: OutputFormat, response: T, simple: (response: T) => void): void {
  if (format === 'json') printJson(response);
  else simple(response);
}
