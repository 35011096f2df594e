/**
 * In-process members for transport tests: each has its own grpc-js server on 127.0.0.1 with
 * the peer service, a PeerTransport to the others, and records of what it received and what
 * its transport reported. Everything is closed in t.teardown (or by `closeCluster`).
 *
 *   const [a, b] = await startCluster(t, 2);
 *   a.transport.send([msg(1, 2, 1)]);
 *   await waitUntil(() => b.received.length === 1, 5_000, 'delivery');
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import { RaftPeerServiceService, type RaftPeerServiceServer } from '../../gen/ts/cairn/raft/v1/raft.js';
import { makeMessage, MessageType, type Message, type MessageInit } from '../../server/raft/message.js';
import { EntryType, type NodeId } from '../../server/raft/types.js';
import { PeerServer, type PeerServerOptions } from '../../server/transport/peer-server.js';
import { PeerTransport, type PeerTransportOptions } from '../../server/transport/peer-transport.js';
import { MIN_WAIT_MS } from '../helpers/wait.js';

export const CLUSTER_ID = 7;

export interface Member {
  readonly id: NodeId;
  readonly address: string;
  readonly peerServer: PeerServer;
  transport: PeerTransport;
  /** Delivered batches, in arrival order. */
  readonly batches: Message[][];
  readonly received: Message[];
  readonly snapshots: { message: Message; data: Buffer }[];
  /** Peers this member's transport reported unreachable, in order. */
  readonly unreachable: NodeId[];
  readonly snapshotReports: { id: NodeId; failed: boolean }[];
  /** SendSnapshot data chunks seen by this member's server (first chunk included). */
  snapshotChunks: number;
  /** Kills the gRPC server at once (a crash, from the peers' point of view). */
  stopServer(): void;
  /** Serves again on the same port. */
  startServer(): Promise<void>;
  /** What a node does on shutdown: tryShutdown, then end the long-lived peer calls. */
  shutdownGracefully(): Promise<void>;
}

export interface ClusterOptions {
  readonly transport?: Partial<Omit<PeerTransportOptions, 'self' | 'peers' | 'reporter'>>;
  readonly server?: Partial<Omit<PeerServerOptions, 'self'>>;
  /** Per member id, overrides for that member's transport (e.g. another cluster id). */
  readonly transportFor?: Readonly<Record<NodeId, Partial<PeerTransportOptions>>>;
}

/**
 * Waits for a condition; fails with `message` after timeoutMs, or MIN_WAIT_MS if that is
 * longer: a wait is bounded only to stop a stuck test, and CI shares two busy cores.
 */
export async function waitUntil(cond: () => boolean, timeoutMs: number, message: string | (() => string)): Promise<void> {
  const bound = Math.max(timeoutMs, MIN_WAIT_MS);
  const deadline = Date.now() + bound;
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${bound} ms waiting for ${typeof message === 'string' ? message : message()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** One turn of the event loop: the transport flushes what was sent before it. */
export const nextTick = (): Promise<void> => new Promise((r) => setImmediate(r));

export function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/** A MsgApp carrying one entry whose index doubles as a sequence number. */
export function app(from: NodeId, to: NodeId, seq: number, data: Uint8Array = new Uint8Array([seq & 0xff])): Message {
  return makeMessage({
    type: MessageType.App,
    from,
    to,
    term: 1,
    index: seq - 1,
    logTerm: 1,
    entries: [{ term: 1, index: seq, type: EntryType.Normal, data }],
  });
}

export function msg(init: MessageInit): Message {
  return makeMessage(init);
}

export const seqs = (ms: readonly Message[]): number[] => ms.map((m) => m.entries[0]?.index ?? -1);

/** [Member, Member, ...] of length N, so tests can destructure without undefined checks. */
export type Members<N extends number, R extends Member[] = []> = R['length'] extends N ? R : Members<N, [...R, Member]>;

export async function startCluster<N extends 1 | 2 | 3 | 4 | 5>(t: ExecutionContext, n: N, opts: ClusterOptions = {}): Promise<Members<N>> {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-transport-'));
  const members: Member[] = [];
  const servers = new Map<NodeId, Server>();
  const ports = new Map<NodeId, number>();

  for (const id of ids) {
    const batches: Message[][] = [];
    const received: Message[] = [];
    const snapshots: { message: Message; data: Buffer }[] = [];
    const peerServer = new PeerServer({
      clusterId: CLUSTER_ID,
      self: id,
      deliver: (ms) => {
        batches.push(ms);
        received.push(...ms);
      },
      incomingSnapshotDir: path.join(dir, `member-${id}`, 'snap'),
      // The test's deliverSnapshot owns the file: it keeps the bytes (small in these tests) and deletes it.
      deliverSnapshot: async (message, file) => {
        const data = await readFile(file.path);
        await rm(file.path);
        snapshots.push({ message, data });
      },
      // As a member wires it: a peer that opens a stream here is up, so stop backing off from it.
      onPeerStream: (from) => member.transport.peerIsUp(from),
      ...opts.server,
    });
    const member: Member = {
      id,
      address: '',
      peerServer,
      transport: undefined as unknown as PeerTransport, // set below, once every port is known
      batches,
      received,
      snapshots,
      unreachable: [],
      snapshotReports: [],
      snapshotChunks: 0,
      stopServer: () => servers.get(id)?.forceShutdown(),
      shutdownGracefully: () =>
        new Promise<void>((resolve) => {
          servers.get(id)?.tryShutdown(() => resolve());
          peerServer.closeAll();
        }),
      startServer: async () => {
        const server = newServer(member);
        servers.set(id, server);
        await bind(server, `127.0.0.1:${ports.get(id)}`);
      },
    };
    const server = newServer(member);
    servers.set(id, server);
    const port = await bind(server, '127.0.0.1:0');
    ports.set(id, port);
    (member as { address: string }).address = `127.0.0.1:${port}`;
    members.push(member);
  }

  for (const m of members) {
    m.transport = new PeerTransport({
      clusterId: CLUSTER_ID,
      self: m.id,
      peers: members.map((p) => ({ id: p.id, address: p.address })),
      reporter: {
        reportUnreachable: (id) => m.unreachable.push(id),
        reportSnapshot: (id, failed) => m.snapshotReports.push({ id, failed }),
      },
      ...opts.transport,
      ...opts.transportFor?.[m.id],
    });
  }

  t.teardown(() => {
    for (const m of members) m.transport.close();
    for (const s of servers.values()) s.forceShutdown();
    return rm(dir, { recursive: true, force: true });
  });
  return members as Members<N>;
}

/** A server with the member's peer service, counting snapshot chunks on the way in. */
function newServer(member: Member): Server {
  const server = new Server();
  const service = member.peerServer.service;
  const counting: RaftPeerServiceServer = {
    stream: service.stream,
    hashKv: service.hashKv,
    sendSnapshot: (call, callback) => {
      call.on('data', () => member.snapshotChunks++);
      service.sendSnapshot(call, callback);
    },
  };
  server.addService(RaftPeerServiceService, counting);
  return server;
}
