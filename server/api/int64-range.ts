/**
 * Requests whose 64-bit integers do not fit this server. gen/ts decodes int64 fields as
 * JavaScript numbers (exact up to 2^53-1, which a revision, version or lease id reaches only
 * after decades of writes), and its decoder throws on a larger one. grpc-js would answer that
 * throw with INTERNAL "Error deserializing request", which says nothing to the caller. So
 * the public services decode through `withInt64RangeCheck`, which turns exactly that throw
 * into an `Int64OutOfRange` request, and the call layer (call-layer.ts) ends such a call with
 * INVALID_ARGUMENT (ERROR_CODE_INTEGER_OUT_OF_RANGE) naming the value, before any handler
 * sees it: nothing is done.
 */
import type { StatusObject, ServiceDefinition } from '@grpc/grpc-js';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { CairnError, ErrorCode } from '../errors.js';
import { toServiceError } from './errors.js';

/** What gen/ts's longToNumber throws with, for a value past either end of the safe range. */
const UNSAFE_INTEGER_MESSAGES = new Set(['Value is larger than Number.MAX_SAFE_INTEGER', 'Value is smaller than Number.MIN_SAFE_INTEGER']);

/** How deep `firstUnsafeInt64` looks into nested messages (requests nest a few levels at most). */
const MAX_NESTING = 8;

/** Stands in for a request that could not be decoded because of an out-of-range integer. */
export class Int64OutOfRange {
  constructor(readonly error: CairnError) {}
}

export function int64OutOfRangeError(raw: Uint8Array): CairnError {
  const value = firstUnsafeInt64(raw, 0);
  const what = value === undefined ? 'a 64-bit integer of the request' : `the request's integer ${value}`;
  return new CairnError(
    ErrorCode.ERROR_CODE_INTEGER_OUT_OF_RANGE,
    `${what} is beyond this server's range: revisions, versions, lease ids and other 64-bit fields must be within ` +
      `+/-${Number.MAX_SAFE_INTEGER} (2^53-1)`,
  );
}

/** The service with every method's request decoder catching out-of-range integers. */
export function withInt64RangeCheck<Definition extends ServiceDefinition>(definition: Definition): Definition {
  const checked: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    checked[name] = {
      ...method,
      requestDeserialize: (raw: Buffer): unknown => {
        try {
          return decode(raw);
        } catch (err) {
          if (err instanceof Error && UNSAFE_INTEGER_MESSAGES.has(err.message)) return new Int64OutOfRange(int64OutOfRangeError(raw));
          throw err;
        }
      },
    };
  }
  return checked as Definition;
}

/**
 * The status that ends a call whose request (or any message of its stream) is an
 * Int64OutOfRange: the handler never sees it (call-layer.ts sends it, and the RPC metrics
 * count it like any other status).
 */
export function int64RefusalStatus(refusal: Int64OutOfRange): StatusObject {
  const { code, details, metadata } = toServiceError(refusal.error);
  return { code: code!, details: details!, metadata: metadata! };
}

/**
 * The first varint of the message, nested messages included, that is an int64 outside the
 * safe range, as a decimal string; undefined if there is none. The decoder's error does not
 * say which value it was, so this finds it for the message. A length-delimited field is
 * taken for a nested message when it parses as one (bytes that happen to parse are looked
 * into too: the value is for a person to read, the status code does not depend on it).
 */
function firstUnsafeInt64(raw: Uint8Array, depth: number): string | undefined {
  const reader = new BinaryReader(raw);
  try {
    while (reader.pos < reader.len) {
      const [, wireType] = reader.tag();
      if (wireType === WireType.Varint) {
        const value = BigInt(reader.int64().toString());
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) return value.toString();
      } else if (wireType === WireType.LengthDelimited) {
        const nested = reader.bytes();
        const found = depth < MAX_NESTING ? firstUnsafeInt64(nested, depth + 1) : undefined;
        if (found !== undefined) return found;
      } else {
        reader.skip(wireType);
      }
    }
  } catch {
    // Not a message (bytes or a string): nothing more to find in it.
  }
  return undefined;
}
