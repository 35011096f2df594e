/**
 * Keys and values are bytes. On the command line they are UTF-8 text, or hex with --hex;
 * an argument that is neither is refused, never stored with U+FFFD in place of its bytes.
 */
import { readFileSync } from 'node:fs';
import { usageError } from './errors.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

let invalidArgs: Set<string> | undefined | null = null;

/**
 * The arguments of this process that are not valid UTF-8, as Node decoded them (with
 * U+FFFD for each bad sequence). Node gives only the decoded argv; Linux's
 * /proc/self/cmdline keeps the bytes. Undefined where there is no such file.
 */
function invalidUtf8Args(): Set<string> | undefined {
  if (invalidArgs !== null) return invalidArgs;
  try {
    const raw = readFileSync('/proc/self/cmdline');
    invalidArgs = new Set();
    let start = 0;
    for (let i = 0; i <= raw.length; i++) {
      if (i < raw.length && raw[i] !== 0) continue;
      const arg = raw.subarray(start, i);
      if (!isUtf8(arg)) invalidArgs.add(arg.toString('utf8'));
      start = i + 1;
    }
  } catch {
    invalidArgs = undefined;
  }
  return invalidArgs;
}

/** Whether a command-line argument was given as bytes that are not UTF-8. */
function wasInvalidUtf8(arg: string): boolean {
  if (!arg.includes('\uFFFD')) return false;
  // Without the raw bytes, a U+FFFD cannot be told from a bad sequence: refuse it, since
  // storing the replacement character silently is the thing to avoid.
  return invalidUtf8Args()?.has(arg) ?? true;
}

/** Parses hex text ("6b6579", case-insensitive) into bytes. */
export function fromHex(text: string, what: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw usageError(`${what} '${text}' is not hex (an even number of 0-9, a-f digits)`);
  return Buffer.from(text, 'hex');
}

/** A key or value argument as bytes: hex with --hex, else UTF-8 text that must be valid. */
export function argBytes(arg: string, hex: boolean | undefined, what: string): Buffer {
  if (hex === true) return fromHex(arg, what);
  if (wasInvalidUtf8(arg)) {
    throw usageError(`the ${what} is not valid UTF-8; give binary keys and values in hex with --hex (or a value on stdin)`);
  }
  return Buffer.from(arg, 'utf8');
}

/** Text read from stdin (a txn script), which must be valid UTF-8 like any argument. */
export function strictUtf8Text(bytes: Buffer, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw usageError(`${what} is not valid UTF-8`);
  }
}
