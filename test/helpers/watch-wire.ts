/**
 * A watch client that decodes only what fan-out tests and benchmarks check (watch id,
 * created/canceled, each event's mod_revision and value), straight from the wire. Tens of
 * thousands of watches in one test process would otherwise spend most of the machine on
 * decoding full WatchResponse objects.
 *
 *   const call = openRawWatch(client);            // a Client from @grpc/grpc-js
 *   call.on('data', (buf: Buffer) => { const r = parseWatchResponse(buf); ... });
 *   call.write(createRequest({ key: b('k') }));
 */
import type { Client, ClientDuplexStream } from '@grpc/grpc-js';
import { WatchCreateRequest, WatchRequest, type DeepPartial } from '../../gen/ts/cairn/v1/watch.js';

export interface RawEvent {
  modRevision: number;
  /** A view into the response buffer. */
  value: Buffer;
}

export interface RawWatchResponse {
  watchId: number;
  created: boolean;
  canceled: boolean;
  fragment: boolean;
  events: RawEvent[];
}

/** A bidirectional Watch call whose responses are the undecoded message bytes. */
export function openRawWatch(client: Client): ClientDuplexStream<WatchRequest, Buffer> {
  return client.makeBidiStreamRequest<WatchRequest, Buffer>(
    '/cairn.v1.WatchService/Watch',
    (req) => Buffer.from(WatchRequest.encode(req).finish()),
    (buf) => buf,
  );
}

export function createRequest(req: DeepPartial<WatchCreateRequest>): WatchRequest {
  return { request: { $case: 'createRequest', createRequest: WatchCreateRequest.fromPartial(req) } };
}

interface Cursor {
  at: number;
}

function varint(buf: Buffer, c: Cursor): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    const byte = buf[c.at++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result;
    scale *= 128;
  }
}

/** A 10-byte varint as a signed 64-bit integer. */
function int64(buf: Buffer, at: number): bigint {
  let result = 0n;
  for (let i = 0; i < 10; i++) result |= BigInt(buf[at + i]! & 0x7f) << BigInt(7 * i);
  return BigInt.asIntN(64, result);
}

function skip(buf: Buffer, wire: number, c: Cursor): void {
  if (wire === 0) varint(buf, c);
  else if (wire === 2) {
    const len = varint(buf, c);
    c.at += len;
  } else if (wire === 1) c.at += 8;
  else if (wire === 5) c.at += 4;
  else throw new Error(`unexpected wire type ${wire}`);
}

/** KeyValue: mod_revision is field 3, value field 5. */
function parseKv(buf: Buffer, c: Cursor, end: number): RawEvent {
  const event: RawEvent = { modRevision: 0, value: buf.subarray(0, 0) };
  while (c.at < end) {
    const tag = varint(buf, c);
    if (tag === ((3 << 3) | 0)) event.modRevision = varint(buf, c);
    else if (tag === ((5 << 3) | 2)) {
      const len = varint(buf, c);
      event.value = buf.subarray(c.at, c.at + len);
      c.at += len;
    } else skip(buf, tag & 7, c);
  }
  return event;
}

/** WatchResponse: watch_id 2, created 3, canceled 4, fragment 7, events 11 (Event.kv is field 2). */
export function parseWatchResponse(buf: Buffer): RawWatchResponse {
  const out: RawWatchResponse = { watchId: 0, created: false, canceled: false, fragment: false, events: [] };
  const c: Cursor = { at: 0 };
  while (c.at < buf.length) {
    const tag = varint(buf, c);
    switch (tag) {
      case (2 << 3) | 0: {
        const start = c.at;
        out.watchId = varint(buf, c);
        if (c.at - start === 10) out.watchId = Number(int64(buf, start)); // negative (-1: stream-wide progress)
        break;
      }
      case (3 << 3) | 0:
        out.created = varint(buf, c) !== 0;
        break;
      case (4 << 3) | 0:
        out.canceled = varint(buf, c) !== 0;
        break;
      case (7 << 3) | 0:
        out.fragment = varint(buf, c) !== 0;
        break;
      case (11 << 3) | 2: {
        const end = varint(buf, c) + c.at;
        while (c.at < end) {
          const t = varint(buf, c);
          if (t === ((2 << 3) | 2)) {
            const kvEnd = varint(buf, c) + c.at;
            out.events.push(parseKv(buf, c, kvEnd));
          } else skip(buf, t & 7, c);
        }
        break;
      }
      default:
        skip(buf, tag & 7, c);
    }
  }
  return out;
}
