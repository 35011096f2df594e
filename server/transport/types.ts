/** Shapes shared by the sending and receiving halves of the peer transport. */
import type { Logger } from 'pino';
import type { Message } from '../raft/message.js';
import type { NodeId } from '../raft/types.js';

/** A peer: its member id and the host:port of its gRPC server. */
export interface PeerAddress {
  readonly id: NodeId;
  readonly address: string;
}

/**
 * Where the transport reports delivery problems. RaftDriver satisfies it as is, so the
 * node can pass its driver (or a forwarding object, to break the construction cycle).
 */
export interface PeerStatusReporter {
  /** The peer could not be reached or its queue overflowed; the leader falls back to probing. */
  reportUnreachable(id: NodeId): void;
  /** A MsgSnap to `id` was applied by the peer (failed=false) or was not (failed=true). */
  reportSnapshot(id: NodeId, failed: boolean): void;
}

/**
 * Snapshot data for a MsgSnap, streamed by the state machine. May carry `totalBytes` when the
 * size is known in advance: the receiver then refuses an oversized snapshot before any data
 * moves and detects truncation; without it the size goes out as 0 (unknown). `traceparent`
 * (tracing on: snapshot-tracing.ts) travels as the transfer's gRPC metadata, so the
 * receiver's spans join the sender's trace.
 */
export type SnapshotChunks = AsyncIterable<Uint8Array> & { readonly totalBytes?: number; readonly traceparent?: string };
export type SnapshotSource = (msg: Message) => SnapshotChunks;

/** The logger subset the transport uses (a pino Logger fits). */
export type TransportLogger = Pick<Logger, 'warn' | 'info' | 'debug'>;
