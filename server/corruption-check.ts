import { credentials as grpcCredentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RaftPeerServiceClient, type HashKVResponse } from '../gen/ts/cairn/raft/v1/raft.js';
import { divergentMembers, type Divergence, type MemberHash } from './hash-verdict.js';
import { hashKeySpace } from './mvcc/hash-kv.js';
import type { MvccStore } from './mvcc/kv-store.js';
import { EMPTY_STORE_REVISION } from './mvcc/revision.js';
import type { ClusterMember } from './node/cluster-config.js';

/** What comparing this member's key space with its peers' needs. */
export interface HashComparison {
  readonly clusterId: number;
  readonly self: ClusterMember;
  readonly members: () => readonly ClusterMember[];
  readonly store: MvccStore;
  /** How to dial peers' Raft peer service (this member's peer TLS credentials, or plaintext). */
  readonly credentials: ChannelCredentials | undefined;
  /** The largest value the store may hold (--max-value-bytes): bounds the hash's pages in bytes. */
  readonly maxValueBytes: number;
  /** How long one peer's HashKV may take. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** The outcome of one comparison: who differs, at which revision, from how many answers. */
export interface ComparisonResult {
  readonly revision: number;
  readonly answered: number;
  readonly divergences: Divergence[];
}

/**
 * Hashes this member's key space at its current revision and asks every peer for its hash
 * at the same revision, over the Raft peer service: members authenticate to each other
 * there as for Raft traffic (peer certificates), so the check works with client
 * authentication on, where the public HashKV is root-only. A peer that cannot answer at
 * that revision (behind it, compacted past it, down) is left out of the comparison rather
 * than guessed at.
 */
export async function compareWithPeers(o: HashComparison): Promise<ComparisonResult> {
  const revision = o.store.currentRevision;
  // A store nothing was written to (a fresh or rejoining member) has nothing to compare.
  if (revision <= EMPTY_STORE_REVISION) return { revision, answered: 0, divergences: [] };
  const own = await hashKeySpace(o.store, revision, { maxValueBytes: o.maxValueBytes });
  const peers = o.members().filter((m) => m.id !== o.self.id);
  const answers = await Promise.all(peers.map((peer) => peerHash(peer, revision, o)));
  const hashes: MemberHash[] = [{ memberId: o.self.id, hash: own.hash }];
  for (const answer of answers) if (answer !== undefined) hashes.push(answer);
  return { revision, answered: hashes.length - 1, divergences: divergentMembers(hashes, revision) };
}

async function peerHash(peer: ClusterMember, revision: number, o: HashComparison): Promise<MemberHash | undefined> {
  const client = new RaftPeerServiceClient(peer.address, o.credentials ?? grpcCredentials.createInsecure());
  try {
    const response = await new Promise<HashKVResponse>((resolve, reject) => {
      client.hashKv(
        { clusterId: o.clusterId, from: o.self.id, revision },
        new Metadata(),
        { deadline: Date.now() + o.timeoutMs },
        (err, res) => (err === null ? resolve(res) : reject(err)),
      );
    });
    // An answer from another member than the one configured there (a moved address) proves nothing.
    if (response.memberId !== peer.id || response.revision !== revision) return undefined;
    return { memberId: peer.id, hash: response.hash };
  } catch (err) {
    o.logger.debug({ err, peer: peer.name, revision }, 'corruption check: peer gave no hash; left out');
    return undefined;
  } finally {
    client.close();
  }
}

/** Thrown when the start-up check finds that this member alone differs. */
export class DivergentMemberError extends Error {}

/**
 * The start-up check (etcd's initial corruption check), run before the member serves:
 * when the peers that answered agree with each other and not with this member, it
 * refuses to start, since serving would hand out a key space the others do not have.
 * When a peer is the one that differs it only warns: the leader's periodic check raises
 * the alarm. No answer (a cluster starting up together) is no evidence: it starts.
 */
export async function initialCorruptionCheck(o: HashComparison): Promise<void> {
  if (o.members().length < 2) return;
  const result = await compareWithPeers(o);
  const mine = result.divergences.find((d) => d.memberId === o.self.id);
  const others = result.divergences.filter((d) => d.memberId !== o.self.id);
  if (others.length > 0) o.logger.warn({ divergences: others, revision: result.revision }, 'corruption check: a peer differs');
  if (mine !== undefined && others.length === 0) {
    throw new DivergentMemberError(
      `corruption check: this member's key space differs from its peers' (${mine.detail}); it refuses to serve. ` +
        `Bring it back with 'cairn serve --discard-local-data-and-rejoin' (it receives the leader's snapshot), ` +
        `or start it with --no-initial-corrupt-check to inspect it`,
    );
  }
  o.logger.info({ revision: result.revision, peersAnswered: result.answered }, 'corruption check at start-up passed');
}

/** What the periodic check needs besides the comparison. */
export interface PeriodicCheckOptions extends HashComparison {
  readonly intervalMs: number;
  readonly isLeader: () => boolean;
  /** Whether a CORRUPT alarm is already active for the member (no second proposal). */
  readonly alarmed: (memberId: number) => boolean;
  /** Raises the CORRUPT alarm through the log. */
  readonly raise: (divergence: Divergence) => Promise<void>;
}

/**
 * The leader's periodic check (etcd's --corrupt-check-time): every interval it compares
 * the members' hashes at its current revision and raises a CORRUPT alarm, through the
 * log, for each member that differs. One check runs at a time. It runs on every member
 * whatever the cluster's size at start: a member started alone may lead peers added later,
 * so each tick looks at the current membership and skips only while it has no peer.
 */
export class PeriodicCorruptionCheck {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;

  constructor(private readonly o: PeriodicCheckOptions) {
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running !== undefined || !this.o.isLeader() || this.o.members().length < 2) return;
    this.running = this.check()
      .catch((err: unknown) => this.o.logger.warn({ err }, 'corruption check failed; trying again next interval'))
      .finally(() => (this.running = undefined));
  }

  private async check(): Promise<void> {
    const result = await compareWithPeers(this.o);
    for (const divergence of result.divergences) {
      if (this.o.alarmed(divergence.memberId)) continue;
      this.o.logger.error({ memberId: divergence.memberId, detail: divergence.detail }, 'corruption check: raising a CORRUPT alarm');
      await this.o.raise(divergence);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
