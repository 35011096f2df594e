/**
 * The sending half of the transport, as the driver sees it: a PeerSender for the current
 * peers (addPeer/removePeer follow applied membership changes). Ordinary messages go to each peer's batched stream (peer-client.ts); MsgSnap goes
 * over its own SendSnapshot call on a dedicated connection, one transfer per peer at a time.
 * `send` never throws and never blocks, and reports to the core always arrive later, from
 * the event loop, never re-entrantly from inside `send`.
 */
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { PeerSender } from '../node/ports/peer-sender.js';
import { isLocalMessage, MessageType, type Message } from '../raft/message.js';
import type { NodeId } from '../raft/types.js';
import { DEFAULT_BACKOFF, type PeerBackoffOptions } from './backoff.js';
import { createPeerClient, type ChannelSettings } from './channel.js';
import { PeerClient, type PeerClientStats } from './peer-client.js';
import { sendSnapshot } from './snapshot-sender.js';
import type { PeerAddress, PeerStatusReporter, SnapshotChunks, SnapshotSource, TransportLogger } from './types.js';

export const DEFAULT_MAX_QUEUED_MESSAGES = 4096;
/** Below the server's receive limit (maxRequestBytes 1.5 MiB + overhead). */
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
export const DEFAULT_SNAPSHOT_TIMEOUT_MS = 10 * 60 * 1000;
export const DEFAULT_KEEPALIVE_TIME_MS = 10_000;
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 5_000;

export interface PeerTransportOptions {
  readonly clusterId: number;
  readonly self: NodeId;
  /** The other members (an entry for `self` is ignored). */
  readonly peers: readonly PeerAddress[];
  readonly reporter: PeerStatusReporter;
  /** A peer refused this member's stream because a committed change removed it (see PeerServer's isRemoved). */
  readonly onRemovedByPeer?: (peer: NodeId) => void;
  /** Data for a MsgSnap; by default the data inside the message's snapshot. */
  readonly snapshotSource?: SnapshotSource;
  /** Default: insecure (plaintext). */
  readonly credentials?: ChannelCredentials;
  /** Per peer; when full the newest messages are dropped and the peer reported unreachable. */
  readonly maxQueuedMessages?: number;
  readonly maxBatchBytes?: number;
  readonly snapshotChunkBytes?: number;
  readonly snapshotTimeoutMs?: number;
  /** Reconnect backoff, 100 ms doubling to 2 s by default (with jitter). */
  readonly backoff?: PeerBackoffOptions;
  readonly keepaliveTimeMs?: number;
  readonly keepaliveTimeoutMs?: number;
  /** Jitter source (tests may fix it). */
  readonly random?: () => number;
  readonly logger?: TransportLogger;
  /** Told about a message to a member with no known address (one added in an entry not applied here yet). */
  readonly onUnknownPeer?: (id: NodeId) => void;
}

export interface TransportStats {
  readonly peers: Readonly<Record<NodeId, PeerClientStats>>;
  /** Messages for members not in the peer set, or of local types (a bug upstream). */
  readonly undeliverable: number;
  readonly snapshotsSent: number;
  readonly snapshotsFailed: number;
  /** MsgSnap dropped because a transfer to the same peer was still running. */
  readonly snapshotsSkipped: number;
}

interface Peer {
  readonly address: PeerAddress;
  readonly client: PeerClient;
  snapshotInFlight: boolean;
}

export class PeerTransport implements PeerSender {
  private readonly peers = new Map<NodeId, Peer>();
  private readonly channel: ChannelSettings;
  private readonly snapshotSource: SnapshotSource;
  private readonly aborter = new AbortController();
  private closed = false;
  private counts = { undeliverable: 0, snapshotsSent: 0, snapshotsFailed: 0, snapshotsSkipped: 0 };

  constructor(private readonly opts: PeerTransportOptions) {
    this.channel = {
      credentials: opts.credentials ?? grpcCredentials.createInsecure(),
      backoff: opts.backoff ?? DEFAULT_BACKOFF,
      keepaliveTimeMs: opts.keepaliveTimeMs ?? DEFAULT_KEEPALIVE_TIME_MS,
      keepaliveTimeoutMs: opts.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
    };
    this.snapshotSource = opts.snapshotSource ?? dataInMessage;
    for (const address of opts.peers) {
      if (address.id === opts.self) continue;
      if (this.peers.has(address.id)) throw new Error(`peer ${address.id} is listed twice`);
      this.addPeer(address);
    }
  }

  /**
   * Starts talking to a member that joined (a membership change was applied). A known peer
   * whose address changed is reconnected; the same address is a no-op.
   */
  addPeer(address: PeerAddress): void {
    if (this.closed || address.id === this.opts.self) return;
    const known = this.peers.get(address.id);
    if (known !== undefined) {
      if (known.address.address === address.address) return;
      this.removePeer(address.id);
    }
    const opts = this.opts;
    const client = new PeerClient({
      peer: address,
      clusterId: opts.clusterId,
      self: opts.self,
      channel: this.channel,
      maxQueuedMessages: opts.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
      maxBatchBytes: opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      random: opts.random ?? Math.random,
      onUnreachable: () => this.report(() => opts.reporter.reportUnreachable(address.id)),
      onRemoved: () => opts.onRemovedByPeer?.(address.id),
      logger: opts.logger,
    });
    this.peers.set(address.id, { address, client, snapshotInFlight: false });
  }

  /** Stops talking to a removed member: its stream and queue end; later messages to it are dropped. */
  /** The peer opened a stream to this member: it is up, so stop backing off from it. */
  peerIsUp(id: NodeId): void {
    this.peers.get(id)?.client.retryNow();
  }

  /** An empty batch to every peer (see PeerClient.probe). */
  probe(): void {
    for (const peer of this.peers.values()) peer.client.probe();
  }

  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    peer.client.close();
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (this.closed) return;
      const peer = this.peers.get(m.to);
      try {
        if (peer === undefined || isLocalMessage(m.type)) {
          this.counts.undeliverable++;
          this.opts.logger?.warn({ type: m.type, to: m.to }, 'raft message has no peer to go to; dropped');
          if (peer === undefined && !isLocalMessage(m.type)) this.opts.onUnknownPeer?.(m.to);
        } else if (m.type === MessageType.Snap) {
          this.startSnapshot(peer, m);
        } else {
          peer.client.enqueue(m);
        }
      } catch (err) {
        // Only an encoding bug gets here; dropping is safe (Raft resends), crashing is not.
        this.counts.undeliverable++;
        this.opts.logger?.warn({ err, type: m.type, to: m.to }, 'raft message could not be sent; dropped');
      }
    }
  }

  stats(): TransportStats {
    const peers: Record<NodeId, PeerClientStats> = {};
    for (const [id, p] of this.peers) peers[id] = p.client.stats();
    return { ...this.counts, peers };
  }

  /** Ends every stream, transfer and timer. Idempotent; `send` is a no-op afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.aborter.abort();
    for (const p of this.peers.values()) p.client.close();
  }

  private startSnapshot(peer: Peer, msg: Message): void {
    const id = peer.address.id;
    if (peer.snapshotInFlight) {
      // The core waits for the running transfer's report before it sends another.
      this.counts.snapshotsSkipped++;
      this.opts.logger?.warn({ peer: id, index: msg.snapshot?.index }, 'snapshot already in flight to this peer; dropped');
      return;
    }
    peer.snapshotInFlight = true;
    // sendSnapshot turns every transfer failure into applied: false, but transferSnapshot can
    // still reject (creating the client, or a bug). That must count as a failed transfer too:
    // unhandled, it would crash the process, and the peer would stay in flight forever with
    // the core never told. The chain ends in a handler that cannot throw (report catches).
    void this.transferSnapshot(peer, msg)
      .catch((err: unknown) => {
        this.opts.logger?.warn({ peer: id, index: msg.snapshot?.index, err }, 'snapshot transfer failed unexpectedly');
        return false;
      })
      .then((applied) => {
        peer.snapshotInFlight = false;
        if (applied) this.counts.snapshotsSent++;
        else this.counts.snapshotsFailed++;
        this.report(() => this.opts.reporter.reportSnapshot(id, !applied));
      });
  }

  private async transferSnapshot(peer: Peer, msg: Message): Promise<boolean> {
    const client = createPeerClient(peer.address.address, this.channel, true);
    const log = { peer: peer.address.id, index: msg.snapshot?.index };
    try {
      let chunks: SnapshotChunks;
      try {
        chunks = this.snapshotSource(msg);
      } catch (err) {
        this.opts.logger?.warn({ ...log, err }, 'snapshot source failed');
        return false;
      }
      const outcome = await sendSnapshot({
        client,
        clusterId: this.opts.clusterId,
        message: msg,
        chunks,
        chunkBytes: this.opts.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES,
        timeoutMs: this.opts.snapshotTimeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
        signal: this.aborter.signal,
      });
      if (outcome.applied) this.opts.logger?.info(log, 'snapshot sent');
      else this.opts.logger?.warn({ ...log, reason: outcome.reason }, 'snapshot transfer failed');
      return outcome.applied;
    } finally {
      client.close();
    }
  }

  /** Reports go to the core only while open, and a throwing reporter cannot hurt the transport. */
  private report(f: () => void): void {
    if (this.closed) return;
    try {
      f();
    } catch (err) {
      this.opts.logger?.warn({ err }, 'peer status report failed');
    }
  }
}

/** The default source: the data the core put in the message itself. */
function dataInMessage(msg: Message): SnapshotChunks {
  const data = msg.snapshot?.data ?? new Uint8Array(0);
  return {
    totalBytes: data.byteLength,
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator is the plain way to write this AsyncIterable; it has nothing to wait for
    async *[Symbol.asyncIterator]() {
      yield data;
    },
  };
}
