/** Rendering of responses: etcdctl-like lines, or JSON with bytes as UTF-8 strings. */
import type { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import type { OutputFormat } from './options.js';

/**
 * Converts a decoded message to plain JSON: bytes become UTF-8 strings, and a oneof
 * `{ $case: 'x', x: v }` becomes `{ x: v }`.
 */
export function toJson(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
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

export function writeLine(line: string | Buffer = ''): void {
  process.stdout.write(line);
  process.stdout.write('\n');
}

export function printJson(value: unknown): void {
  writeLine(JSON.stringify(toJson(value)));
}

/** etcdctl's simple format: the key on one line, the value on the next (unless keys only). */
export function printKv(kv: KeyValue, keysOnly = false): void {
  writeLine(kv.key);
  if (!keysOnly) writeLine(kv.value);
}

/** Prints the response in JSON, or calls `simple` to print it line by line. */
export function render<T>(format: OutputFormat, response: T, simple: (response: T) => void): void {
  if (format === 'json') printJson(response);
  else simple(response);
}
