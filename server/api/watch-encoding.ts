/**
 * WatchResponse wire encoding for fan-out. Many watchers receive the same revision: its
 * events are encoded once (cached on the revision object), and a response is assembled
 * from the encoded header, the watch id and those shared bytes, without building a
 * WatchResponse object per watcher. The watch service is registered with a serializer that
 * passes such pre-encoded responses through (see WATCH_SERVICE_DEFINITION).
 */
import type { ServiceError } from '@grpc/grpc-js';
import { Event, ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import { type WatchCreateRequest, WatchResponse, WatchServiceService } from '../../gen/ts/cairn/v1/watch.js';
import type { CairnError } from '../errors.js';
import type { RevisionEvents } from '../mvcc/events.js';
import { varintSize, writeVarint } from '../varint.js';
import { rpcStatusOf, toServiceError } from './errors.js';

/** The events of one revision as WatchResponse.events entries (field 11), ready to concatenate. */
export interface EncodedRevision {
  /** One entry per event: tag, length and the encoded Event. */
  readonly parts: readonly Buffer[];
  readonly bytes: number;
}

const EVENTS_TAG = (11 << 3) | 2;
const HEADER_TAG = (1 << 3) | 2;
const WATCH_ID_TAG = (2 << 3) | 0;
const FRAGMENT_TAG = (7 << 3) | 0;

/** One event as its API encodes it (cairn.v1.Event, or etcd's mvccpb.Event). */
export type EventEncoder = (event: Event) => Uint8Array;

/**
 * The revision's events encoded for a watcher that does (or does not) want prev_kv, through
 * `encodeEvent`; cached on the revision, one cache per API, so each is encoded once.
 */
export function revisionEncoder(encodeEvent: EventEncoder): (rev: RevisionEvents, prevKv: boolean) => EncodedRevision {
  const withPrevKv = new WeakMap<RevisionEvents, EncodedRevision>();
  const withoutPrevKv = new WeakMap<RevisionEvents, EncodedRevision>();
  return (rev, prevKv) => {
    const strip = !prevKv && rev.events.some((e) => e.prevKv !== undefined);
    const cache = strip ? withoutPrevKv : withPrevKv;
    let encoded = cache.get(rev);
    if (encoded === undefined) {
      const parts = rev.events.map((e) => field(EVENTS_TAG, encodeEvent(strip ? { ...e, prevKv: undefined } : e)));
      let bytes = 0;
      for (const p of parts) bytes += p.length;
      encoded = { parts, bytes };
      cache.set(rev, encoded);
    }
    return encoded;
  };
}

/** The revision's events as cairn.v1 WatchResponse entries; cached. */
export const encodeRevision = revisionEncoder((e) => Event.encode(e).finish());

/** A ResponseHeader as WatchResponse field 1. */
export function encodeHeaderField(header: ResponseHeader): Buffer {
  return field(HEADER_TAG, ResponseHeader.encode(header).finish());
}

/** An event response: header, a non-negative watch id, the fragment flag and event entries. */
export function encodeEventResponse(
  headerField: Buffer,
  watchId: number,
  fragment: boolean,
  parts: readonly Buffer[],
  bytes: number,
): Buffer {
  const size = headerField.length + 1 + varintSize(watchId) + (fragment ? 2 : 0) + bytes;
  const out = Buffer.allocUnsafe(size);
  let at = headerField.copy(out, 0);
  out[at++] = WATCH_ID_TAG;
  at = writeVarint(out, at, watchId);
  if (fragment) {
    out[at++] = FRAGMENT_TAG;
    out[at++] = 1;
  }
  for (const p of parts) at += p.copy(out, at);
  return out;
}

/** Any other response (created, canceled, progress), through the generated encoder. */
export function encodeResponse(response: WatchResponse): Buffer {
  const bytes = WatchResponse.encode(response).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * How a watch stream speaks to its client. A WatchStream is the same machinery for every
 * API (hub, bounded queues, flow control); what differs is the wire: cairn.v1's
 * WatchResponse here, etcd's in server/api/etcd/watch-protocol.ts. Both share the
 * WatchResponse field numbers, so event responses are assembled the same way
 * (encodeEventResponse); the events, control responses and error reports differ.
 */
export interface WatchProtocol {
  /** The id of the first watch whose id the server picks (cairn.v1: 1; etcd: 0). */
  readonly firstWatchId: number;
  encodeRevision(rev: RevisionEvents, prevKv: boolean): EncodedRevision;
  /** A created, canceled or progress response (no events). */
  encodeResponse(response: WatchResponse): Buffer;
  /** The fields of a watch canceled because of an error. */
  canceledBy(err: CairnError): Partial<WatchResponse>;
  /**
   * The watch id a create refused because of an error is answered with; `assign` gives the
   * client's id, or takes the next one the server would pick.
   */
  refusedWatchId(assign: () => number): number;
  /**
   * Size past which a revision is split over several responses for a watch that allows
   * fragments, given --max-request-bytes.
   */
  fragmentBytes(maxRequestBytes: number): number;
  /** cancel_reason of a watch the client canceled. */
  readonly clientCancelReason: string;
  /**
   * A create the API refuses in words of its own (the fields of the refusal), or undefined.
   * Asked at two points, as etcd checks: 'request' before any other check, 'range' once
   * the caller's access to the range is granted.
   */
  refuseCreate(req: WatchCreateRequest, at: 'request' | 'range'): Partial<WatchResponse> | undefined;
  /** The status a whole stream ends with (over the stream limit, the member stopping). */
  toError(err: unknown): Partial<ServiceError>;
}

/** cairn.v1's watch protocol: errors carry their code in cancel_status (the one table, errors.ts). */
export const CAIRN_WATCH_PROTOCOL: WatchProtocol = {
  firstWatchId: 1,
  encodeRevision,
  encodeResponse,
  canceledBy: (err) => ({
    canceled: true,
    cancelReason: err.message,
    cancelStatus: rpcStatusOf(err),
    compactRevision: err.compactRevision,
  }),
  refusedWatchId: (assign) => assign(),
  fragmentBytes: (maxRequestBytes) => maxRequestBytes,
  clientCancelReason: 'canceled by the client',
  refuseCreate: () => undefined, // Cairn's own checks (watch-stream.ts) are its whole word
  toError: toServiceError,
};

/**
 * The watch service definition, with a response serializer that sends a Buffer as it is:
 * the stream writes responses it encoded itself.
 */
export const WATCH_SERVICE_DEFINITION = {
  ...WatchServiceService,
  watch: {
    ...WatchServiceService.watch,
    responseSerialize: (value: WatchResponse | Buffer): Buffer =>
      Buffer.isBuffer(value) ? value : WatchServiceService.watch.responseSerialize(value),
  },
} as const;

function field(tag: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(payload.length) + payload.length);
  out[0] = tag;
  const at = writeVarint(out, 1, payload.length);
  out.set(payload, at);
  return out;
}
