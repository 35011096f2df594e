/**
 * Sends one MsgSnap over `SendSnapshot`, honouring the call's backpressure so a large
 * snapshot never sits in memory whole on the sending side. The chunks:
 *
 *   1. the message (metadata only) and total_bytes: the size if the source knows it, else 0;
 *   2. the data, re-cut into pieces of chunkBytes (never empty), each with its CRC-32;
 *   3. the end marker: no data, total_bytes = the bytes actually sent, total_crc32 = their
 *      CRC-32.
 *
 * The marker is what makes a transfer complete for the receiver, so a stream that ends
 * early for any reason can never be mistaken for a whole snapshot, even of unknown size.
 *
 * Memory: one piece in hand, plus what grpc-js buffers before 'drain'. Waiting for "the next
 * piece or the end of the call" must not be Promise.race against a promise that lives as long
 * as the call: each race leaves a reaction on it that keeps the race's result (a 1 MiB piece)
 * reachable until the call settles, and the leader then held every byte of the snapshot it
 * had sent (measured: 128 MiB for a 128 MiB store). The waits below listen to an AbortSignal
 * and remove their listener once settled, so nothing outlives its piece.
 */
import { Metadata, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import type { RaftPeerServiceClient, SendSnapshotRequest, SendSnapshotResponse } from '../../gen/ts/cairn/raft/v1/raft.js';
import type { Message } from '../raft/message.js';
import { crc32 } from '../streams/crc32.js';
import { rechunk } from './chunks.js';
import { encodeMessage } from './codec.js';
import type { SnapshotChunks } from './types.js';

export interface SnapshotTransfer {
  readonly client: RaftPeerServiceClient;
  readonly clusterId: number;
  readonly message: Message;
  readonly chunks: SnapshotChunks;
  readonly chunkBytes: number;
  /** Deadline for the whole transfer, including the receiver applying it. */
  readonly timeoutMs: number;
  /** Cancels the transfer (transport closing). */
  readonly signal: AbortSignal;
}

export type SnapshotOutcome = { readonly applied: true } | { readonly applied: false; readonly reason: string };

const EMPTY = Buffer.alloc(0);

interface Completion {
  readonly err: ServiceError | null;
  readonly res: SendSnapshotResponse | undefined;
}

/** Never rejects: every failure, including the source's, becomes `applied: false`. */
export async function sendSnapshot(t: SnapshotTransfer): Promise<SnapshotOutcome> {
  let call: ClientWritableStream<SendSnapshotRequest> | undefined;
  /** Aborted when the call completes (answered, refused, deadline, cancelled). */
  const callEnded = new AbortController();
  const done = new Promise<Completion>((resolve) => {
    const metadata = new Metadata();
    if (t.chunks.traceparent !== undefined) metadata.set('traceparent', t.chunks.traceparent);
    call = t.client.sendSnapshot(metadata, { deadline: Date.now() + t.timeoutMs }, (err, res) => {
      callEnded.abort();
      resolve({ err, res });
    });
  });
  const c = call!;
  c.on('error', () => {}); // failures arrive through the callback
  const abort = (): void => c.cancel();
  t.signal.addEventListener('abort', abort, { once: true });
  if (t.signal.aborted) abort();
  try {
    const first: SendSnapshotRequest = {
      clusterId: t.clusterId,
      message: encodeMessage(t.message),
      data: EMPTY,
      totalBytes: t.chunks.totalBytes ?? 0,
      dataCrc32: 0,
      totalCrc32: 0,
    };
    if (!c.write(first)) await drained(c, callEnded.signal);
    let sent = 0;
    let sentCrc = 0;
    const pieces = rechunk(t.chunks, t.chunkBytes);
    for (;;) {
      // The source or the end of the call, whichever comes first: once the receiver answered
      // early (refusal), the deadline passed or the transport closed, a stalled source must
      // not hold us.
      const next = pieces.next();
      next.catch(() => {}); // if the call ends first, a later source failure is moot
      const piece = await unlessEnded(next, callEnded.signal);
      if (piece === undefined) {
        void pieces.return(undefined).catch(() => {});
        break;
      }
      if (piece.done === true) break;
      const data = piece.value;
      const dataCrc32 = crc32(data);
      sent += data.byteLength;
      sentCrc = crc32(data, sentCrc);
      if (!c.write({ clusterId: t.clusterId, message: undefined, data, totalBytes: 0, dataCrc32, totalCrc32: 0 }))
        await drained(c, callEnded.signal);
    }
    if (!callEnded.signal.aborted && !t.signal.aborted) {
      c.write({ clusterId: t.clusterId, message: undefined, data: EMPTY, totalBytes: sent, dataCrc32: 0, totalCrc32: sentCrc });
      c.end();
    }
  } catch (err) {
    c.cancel();
    await done;
    return { applied: false, reason: `snapshot source failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    t.signal.removeEventListener('abort', abort);
  }
  const { err, res } = await done;
  if (err !== null) return { applied: false, reason: `${err.code} ${err.details}` };
  return res?.applied === true ? { applied: true } : { applied: false, reason: 'the peer did not apply the snapshot' };
}

/** Resolves on 'drain', or when the call completes (a finished call never drains). */
function drained(call: ClientWritableStream<SendSnapshotRequest>, callEnded: AbortSignal): Promise<void> {
  if (callEnded.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const settle = (): void => {
      call.off('drain', settle);
      callEnded.removeEventListener('abort', settle);
      resolve();
    };
    call.once('drain', settle);
    callEnded.addEventListener('abort', settle, { once: true });
  });
}

/**
 * `promise`'s value, or undefined as soon as the call ends. Its listener goes when it settles,
 * so, unlike a race against a promise of the whole call, nothing keeps the value afterwards.
 */
function unlessEnded<T>(promise: Promise<T>, callEnded: AbortSignal): Promise<T | undefined> {
  if (callEnded.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onEnded = (): void => resolve(undefined);
    callEnded.addEventListener('abort', onEnded, { once: true });
    promise.finally(() => callEnded.removeEventListener('abort', onEnded)).then(resolve, reject);
  });
}
