/**
 * The receiving half of the transport: the RaftPeerService implementation. Everything from
 * the network is validated before the core sees it; a bad batch or transfer ends its call
 * with a status naming the problem, is counted, and nothing of it is delivered. A handler
 * never throws into grpc-js, so no peer can crash the node.
 *
 *   server.addService(RaftPeerServiceService, peerServer.service)
 *   ... on shutdown: server.tryShutdown(cb); peerServer.closeAll();
 *
 * Peer streams are long-lived, so a graceful server shutdown would wait for them forever:
 * `closeAll` ends them (and refuses new ones) so tryShutdown can complete.
 */
import { Metadata, status, type sendUnaryData, type ServerReadableStream, type ServerUnaryCall, type StatusObject } from '@grpc/grpc-js';
import type {
  HashKVRequest,
  HashKVResponse,
  RaftPeerServiceServer,
  SendSnapshotRequest,
  SendSnapshotResponse,
  StreamRequest,
  StreamResponse,
} from '../../gen/ts/cairn/raft/v1/raft.js';
import { MessageType, type Message } from '../raft/message.js';
import type { NodeId } from '../raft/types.js';
import { decodeMessage } from './codec.js';
import { clusterMismatch, grpcStatusOf, memberRemoved, REMOVED_MEMBER_KEY, TransportError, TransportErrorCode } from './errors.js';
import { TRUST_THE_NETWORK, type PeerAuthenticator } from './peer-authenticator.js';
import { IncomingSnapshot, type ReceivedSnapshot } from './incoming-snapshot.js';
import { DEFAULT_SNAPSHOT_DISK_RESERVE_BYTES, SnapshotDiskBudget } from './snapshot-disk-budget.js';
import type { TransportLogger } from './types.js';

export const DEFAULT_MAX_CONCURRENT_SNAPSHOTS = 2;

export interface PeerServerOptions {
  readonly clusterId: number;
  /** This member: messages addressed to anyone else are refused. */
  readonly self: NodeId;
  /** Hands a validated batch to the core, in order. Synchronous, like RaftDriver.step. */
  readonly deliver: (messages: Message[]) => void;
  /**
   * Hands a complete snapshot to the core: `message` carries its metadata (no data), `file`
   * its data, fsynced and checksummed. Once this resolves the file belongs to the callee
   * (which deletes it when done) and the sender is told applied=true; if it throws or
   * rejects, the file is deleted and the sender told of the failure (a TransportError's
   * status, else UNAVAILABLE). `traceparent`: the sender's trace context, if it sent one.
   */
  readonly deliverSnapshot: (message: Message, file: ReceivedSnapshot, traceparent?: string) => void | Promise<void>;
  /** Where incoming snapshots are written (the data dir's snap/); created when needed. */
  readonly incomingSnapshotDir: string;
  /** Snapshots received at once (default 2); more get RESOURCE_EXHAUSTED. */
  readonly maxConcurrentSnapshots?: number;
  /**
   * Disk space kept free when receiving snapshots (default 64 MiB): a transfer the data dir
   * cannot hold with this much to spare gets RESOURCE_EXHAUSTED (snapshot-disk-budget.ts).
   */
  readonly snapshotDiskReserveBytes?: number;
  /** Who may speak for which member (default: anyone, for plaintext development clusters). */
  readonly authenticator?: PeerAuthenticator;
  /**
   * Whether a committed change removed this member. Its streams are refused with a status
   * that tells it so (REMOVED_MEMBER_KEY), since the leader stops sending to a removed member
   * and it could otherwise never learn it was removed.
   */
  readonly isRemoved?: (id: NodeId) => boolean;
  /**
   * This member's key-space hash at a revision, for a peer's corruption check (the public
   * HashKV is root-only once client authentication is on; members prove who they are here).
   * A rejection is reported to the peer as HASH_UNAVAILABLE with its message.
   */
  /**
   * A peer's message stream passed every check (its first batch was accepted): the peer is
   * up, which the sending side uses to stop backing off from it (PeerTransport.peerIsUp).
   */
  readonly onPeerStream?: (from: NodeId) => void;
  readonly hashKeySpace?: (revision: number) => Promise<{ hash: string; revision: number; compactRevision: number }>;
  readonly logger?: TransportLogger;
}

export interface PeerServerStats {
  readonly batches: number;
  readonly messages: number;
  readonly snapshotsApplied: number;
  readonly snapshotsInProgress: number;
  /** Refused batches and transfers, by reason. */
  readonly rejected: Readonly<Partial<Record<TransportErrorCode, number>>>;
}

type Callback<T> = sendUnaryData<T>;

export class PeerServer {
  /** Register with `server.addService(RaftPeerServiceService, peerServer.service)`. */
  readonly service: RaftPeerServiceServer;
  private readonly maxConcurrentSnapshots: number;
  private readonly diskBudget: SnapshotDiskBudget;
  private counts = { batches: 0, messages: 0, snapshotsApplied: 0 };
  private readonly rejected: Partial<Record<TransportErrorCode, number>> = {};
  private snapshotsInProgress = 0;
  /** Hashes being computed for peers (each reads the whole key space), bounded by MAX_CONCURRENT_HASHES. */
  private hashing = 0;
  /** Ends each open call with UNAVAILABLE; filled while calls are open, for closeAll. */
  private readonly openCalls = new Set<() => void>();
  private closed = false;
  /** When each refusal reason was last logged at warn level. */
  private readonly refusalsLogged = new Map<string, number>();

  constructor(private readonly opts: PeerServerOptions) {
    this.diskBudget = new SnapshotDiskBudget(
      opts.incomingSnapshotDir,
      opts.snapshotDiskReserveBytes ?? DEFAULT_SNAPSHOT_DISK_RESERVE_BYTES,
    );
    this.maxConcurrentSnapshots = opts.maxConcurrentSnapshots ?? DEFAULT_MAX_CONCURRENT_SNAPSHOTS;
    this.service = {
      stream: (call, callback) => this.stream(call, callback),
      sendSnapshot: (call, callback) => this.sendSnapshot(call, callback),
      hashKv: (call, callback) => this.hashKv(call, callback),
    };
  }

  /** Where incoming snapshots are written. */
  get incomingSnapshotDir(): string {
    return this.opts.incomingSnapshotDir;
  }

  stats(): PeerServerStats {
    return { ...this.counts, snapshotsInProgress: this.snapshotsInProgress, rejected: { ...this.rejected } };
  }

  /** Ends every open peer call with UNAVAILABLE and refuses new ones (member shutting down). */
  closeAll(): void {
    this.closed = true;
    for (const end of [...this.openCalls]) end();
  }

  /**
   * Tracks a call for closeAll; returns the function that untracks it. Refuses it at once
   * (returning undefined) if the member is already shutting down.
   */
  private track<T>(callback: Callback<T>, end: () => boolean): (() => void) | undefined {
    if (this.closed) {
      callback(SHUTTING_DOWN);
      return undefined;
    }
    const shutdown = (): void => {
      if (end()) callback(SHUTTING_DOWN);
    };
    this.openCalls.add(shutdown);
    return () => this.openCalls.delete(shutdown);
  }

  private stream(call: ServerReadableStream<StreamRequest, StreamResponse>, callback: Callback<StreamResponse>): void {
    let received = 0;
    let done = false;
    let accepted = false;
    /** Marks the call answered; false if it already was. */
    const end = (): boolean => {
      if (done) return false;
      done = true;
      untrack?.();
      return true;
    };
    const untrack = this.track(callback, end);
    if (untrack === undefined) return;
    const finish = (err: unknown): void => {
      if (!end()) return;
      if (err === undefined) callback(null, { received });
      else callback(this.refusal(err, 'message stream', call.getPeer()));
    };
    const allowed = this.authenticate(call, finish);
    if (allowed === null) return;
    /** The member this stream speaks for: the first batch's sender, which its certificate must name. */
    let sender: NodeId | undefined;
    call.on('data', (req: StreamRequest) => {
      if (done) return;
      try {
        if (allowed !== undefined) {
          sender ??= req.from;
          if (req.from !== sender || !allowed.has(req.from)) throw speaksForAnother(req.from, sender, allowed);
        }
        if (req.clusterId !== this.opts.clusterId) throw clusterMismatch(this.opts.clusterId, req.clusterId, req.from);
        if (this.opts.isRemoved?.(req.from) === true) throw memberRemoved(req.from);
        // Decode the whole batch first: a batch is delivered entirely or not at all.
        const messages = req.messages.map((w) => decodeMessage(w, { to: this.opts.self, from: req.from }));
        const snap = messages.find((m) => m.type === MessageType.Snap);
        if (snap !== undefined) {
          throw new TransportError(
            TransportErrorCode.MalformedMessage,
            `MsgSnap from member ${snap.from} on the message stream; snapshots go over SendSnapshot`,
          );
        }
        if (!accepted) {
          // Response headers tell the sender its stream is accepted, so it can reset its backoff.
          accepted = true;
          call.sendMetadata(new Metadata());
          this.opts.onPeerStream?.(req.from);
        }
        this.counts.batches++;
        this.counts.messages += messages.length;
        received += messages.length;
        this.opts.deliver(messages);
      } catch (err) {
        finish(err);
      }
    });
    call.on('end', () => finish(undefined));
    // Cancelled by the peer (grpc-js emits 'cancelled', not 'error') or broken: no one left to answer.
    call.on('cancelled', () => end());
    call.on('error', () => end());
  }

  /**
   * Receives one snapshot into a file (incoming-snapshot.ts). Chunks are handled one at a
   * time: the call is paused while a chunk is checked and written, so grpc-js stops reading
   * and HTTP/2 flow control holds the sender back to the disk's pace. Memory per transfer
   * is one chunk, whatever the snapshot's size.
   */
  private sendSnapshot(
    call: ServerReadableStream<SendSnapshotRequest, SendSnapshotResponse>,
    callback: Callback<SendSnapshotResponse>,
  ): void {
    let incoming: IncomingSnapshot | undefined;
    let received: ReceivedSnapshot | undefined;
    let message: Message | undefined;
    let what = 'snapshot transfer';
    let done = false;
    let delivering = false;
    let holdsSlot = false;
    /** Chunks are processed strictly in order, each after the previous one was written. */
    let work: Promise<void> = Promise.resolve();
    /** Frees the slot and deletes the file, unless the file was handed over to deliverSnapshot. */
    const release = (): void => {
      if (holdsSlot) this.snapshotsInProgress--;
      holdsSlot = false;
      if (incoming !== undefined) {
        this.diskBudget.release(incoming);
        void incoming.discard();
        incoming = undefined;
      }
    };
    /** Marks the call answered; false if it already was. The slot is freed separately. */
    const end = (): boolean => {
      if (done) return false;
      done = true;
      untrack?.();
      return true;
    };
    // On shutdown the call is answered at once, but a snapshot being installed keeps its slot.
    const untrack = this.track(callback, () => {
      if (!delivering) release();
      return end();
    });
    if (untrack === undefined) return;
    const fail = (err: unknown): void => {
      if (!end()) return;
      release();
      callback(this.refusal(err, 'snapshot transfer', call.getPeer()));
    };
    const allowed = this.authenticate(call, fail);
    if (allowed === null) return;

    const onChunk = async (req: SendSnapshotRequest): Promise<void> => {
      if (req.clusterId !== this.opts.clusterId)
        throw clusterMismatch(this.opts.clusterId, req.clusterId, req.message?.from ?? message?.from ?? 0);
      if (message === undefined) {
        if (req.message === undefined) throw malformedSnapshot('the first chunk carries no message');
        const m = decodeMessage(req.message, { to: this.opts.self });
        if (allowed !== undefined && !allowed.has(m.from)) throw speaksForAnother(m.from, undefined, allowed);
        if (m.type !== MessageType.Snap || m.snapshot === undefined)
          throw malformedSnapshot(`${m.type} from member ${m.from} sent as a snapshot`);
        if (m.snapshot.data.byteLength > 0) throw malformedSnapshot('the first chunk carries data inside its message');
        if (!Number.isSafeInteger(req.totalBytes)) throw malformedSnapshot(`total_bytes ${req.totalBytes} out of range`);
        // Checked and taken before any await, so concurrent transfers cannot both pass.
        if (this.snapshotsInProgress >= this.maxConcurrentSnapshots) {
          throw new TransportError(
            TransportErrorCode.TooManySnapshots,
            `already receiving ${this.snapshotsInProgress} snapshots (the limit, --max-incoming-snapshots); retry later`,
          );
        }
        message = m;
        what = `snapshot from member ${m.from} at index ${m.snapshot.index}`;
        this.snapshotsInProgress++;
        holdsSlot = true;
        incoming = await IncomingSnapshot.create(this.opts.incomingSnapshotDir, m.snapshot.term, m.snapshot.index, req.totalBytes, what);
        if (done) return release(); // shut down or cancelled while the file was being created
        await this.diskBudget.admit(incoming, what);
        await incoming.add(req.data, req.dataCrc32);
      } else if (incoming === undefined) {
        throw malformedSnapshot('a chunk after the transfer was settled');
      } else if (req.message !== undefined) {
        throw malformedSnapshot('a message in a chunk after the first');
      } else if (req.data.byteLength === 0) {
        await this.diskBudget.check(what); // the last chance to refuse before the store is asked to hold it
        received = await incoming.seal(req.totalBytes, req.totalCrc32); // the end marker
      } else {
        await incoming.add(req.data, req.dataCrc32);
        await this.diskBudget.received(incoming, what);
      }
    };

    const onEnd = async (): Promise<void> => {
      if (incoming === undefined || message === undefined) throw malformedSnapshot('the stream ended before the first chunk');
      incoming.checkSealed();
      const file = received!;
      const snapshot = message.snapshot!;
      const complete = message;
      delivering = true;
      // Deliver even if the sender is gone by now: the data is complete and valid. From here
      // the file belongs to deliverSnapshot, unless it refuses it.
      this.diskBudget.release(incoming);
      const handedOver = incoming;
      incoming = undefined;
      try {
        await this.opts.deliverSnapshot(complete, file, traceparentOf(call.metadata));
      } catch (err) {
        await handedOver.discard();
        this.opts.logger?.warn({ err, from: complete.from, index: snapshot.index }, 'incoming snapshot not applied');
        if (err instanceof TransportError) return fail(err);
        release();
        if (end())
          callback({ code: status.UNAVAILABLE, details: `snapshot not applied: ${err instanceof Error ? err.message : String(err)}` });
        return;
      }
      this.counts.snapshotsApplied++;
      release();
      if (end()) callback(null, { applied: true });
    };

    const enqueue = (step: () => Promise<void>): void => {
      work = work.then(async () => {
        if (done && !delivering) return;
        try {
          await step();
        } catch (err) {
          fail(err);
        }
      });
    };
    call.on('data', (req: SendSnapshotRequest) => {
      if (done) return;
      call.pause();
      enqueue(async () => {
        await onChunk(req);
        if (!done) call.resume();
      });
    });
    call.on('end', () => enqueue(onEnd));
    // The sender went away mid-transfer; free the slot unless the data is already being applied.
    const abandoned = (): void => {
      if (!delivering) release();
      end();
    };
    call.on('cancelled', abandoned);
    call.on('error', abandoned);
  }

  private hashKv(call: ServerUnaryCall<HashKVRequest, HashKVResponse>, callback: Callback<HashKVResponse>): void {
    const req = call.request;
    const refuse = (err: unknown): void => callback(this.refusal(err, 'hash request', call.getPeer()));
    const allowed = this.authenticate(call, refuse);
    if (allowed === null) return;
    try {
      if (allowed !== undefined && !allowed.has(req.from)) throw speaksForAnother(req.from, undefined, allowed);
      if (req.clusterId !== this.opts.clusterId) throw clusterMismatch(this.opts.clusterId, req.clusterId, req.from);
      if (!(Number.isSafeInteger(req.revision) && req.revision > 0))
        throw new TransportError(TransportErrorCode.MalformedMessage, `hash request for revision ${req.revision}: must be above 0`);
      if (this.opts.hashKeySpace === undefined)
        throw new TransportError(TransportErrorCode.HashUnavailable, 'this member serves no key-space hash to peers');
      if (this.hashing >= MAX_CONCURRENT_HASHES)
        throw new TransportError(TransportErrorCode.HashUnavailable, `${this.hashing} key-space hashes are already being computed`);
    } catch (err) {
      refuse(err);
      return;
    }
    this.hashing++;
    this.opts
      .hashKeySpace(req.revision)
      .then(
        ({ hash, revision, compactRevision }) => callback(null, { memberId: this.opts.self, revision, hash, compactRevision }),
        (err: unknown) =>
          refuse(new TransportError(TransportErrorCode.HashUnavailable, `no hash at revision ${req.revision}: ${(err as Error).message}`)),
      )
      .finally(() => this.hashing--);
  }

  /**
   * The members the call may speak for (undefined: anyone), or null when it proves no
   * membership, in which case it has been refused through `refuse`.
   */
  private authenticate(
    call: ServerReadableStream<unknown, unknown> | ServerUnaryCall<unknown, unknown>,
    refuse: (err: unknown) => void,
  ): ReadonlySet<NodeId> | undefined | null {
    try {
      return (this.opts.authenticator ?? TRUST_THE_NETWORK).membersFor(call);
    } catch (err) {
      refuse(err);
      return null;
    }
  }

  /**
   * Whether a refusal for this reason was not warned about within REFUSAL_LOG_INTERVAL_MS: a
   * peer (or attacker) retrying every second must not flood the log. Bounded: the table is
   * cleared when it holds MAX_REFUSAL_REASONS reasons.
   */
  private firstInAWhile(reason: string): boolean {
    const now = Date.now();
    const last = this.refusalsLogged.get(reason);
    if (last !== undefined && now - last < REFUSAL_LOG_INTERVAL_MS) return false;
    if (this.refusalsLogged.size >= MAX_REFUSAL_REASONS) this.refusalsLogged.clear();
    this.refusalsLogged.set(reason, now);
    return true;
  }

  /** Counts and logs a refusal and turns it into the status the peer sees. */
  private refusal(err: unknown, what: string, remote: string): Partial<StatusObject> {
    if (err instanceof TransportError) {
      this.rejected[err.code] = (this.rejected[err.code] ?? 0) + 1;
      const fields = { code: err.code, reason: err.message, remote };
      if (this.firstInAWhile(err.message)) this.opts.logger?.warn(fields, `raft peer ${what} refused`);
      else this.opts.logger?.debug(fields, `raft peer ${what} refused again`);
      if (err.removedMember === undefined) return { code: grpcStatusOf(err.code), details: err.message };
      const metadata = new Metadata();
      metadata.set(REMOVED_MEMBER_KEY, String(err.removedMember));
      return { code: grpcStatusOf(err.code), details: err.message, metadata };
    }
    // A bug on this side (deliver threw): keep the node up, tell the peer little.
    this.opts.logger?.warn({ err }, `raft peer ${what} failed`);
    return { code: status.INTERNAL, details: 'internal error; see the receiver log' };
  }
}

const REFUSAL_LOG_INTERVAL_MS = 60_000;
/**
 * The leader's periodic check asks each member once per interval and a starting member asks
 * each peer once, so a few at once is plenty; refusing a second one outright would leave a
 * starting member's check without the answers it needs while the leader's check runs.
 */
const MAX_CONCURRENT_HASHES = 4;
const MAX_REFUSAL_REASONS = 1000;

const SHUTTING_DOWN: Partial<StatusObject> = { code: status.UNAVAILABLE, details: 'member is shutting down' };

function speaksForAnother(from: NodeId, sender: NodeId | undefined, allowed: ReadonlySet<NodeId>): TransportError {
  const may = [...allowed].join(', ');
  return new TransportError(
    TransportErrorCode.PeerNotAuthenticated,
    sender !== undefined && from !== sender
      ? `a batch from member ${from} on a stream that speaks for member ${sender}`
      : `a message from member ${from}, but the caller's certificate names member(s) ${may}`,
  );
}

function malformedSnapshot(detail: string): TransportError {
  return new TransportError(TransportErrorCode.MalformedSnapshot, `malformed snapshot transfer: ${detail}`);
}

/** The W3C trace context the sender put in the call's metadata (snapshot-tracing.ts), if any. */
function traceparentOf(metadata: Metadata): string | undefined {
  const value = metadata.get('traceparent')[0];
  return typeof value === 'string' ? value : undefined;
}
