import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  ElectionServer,
  LeaderKey,
  LeaderRequest,
  LeaderResponse,
} from '../../../gen/ts/etcd/server/etcdserver/api/v3election/v3electionpb/v3election.js';
import { CairnError } from '../../errors.js';
import type { ServerCall } from '../auth/authorizer.js';
import { EtcdStatusError, toEtcdServiceError } from './rpctypes.js';
import { RECIPE_ERRORS, signalOf } from './etcd-call-errors.js';
import { etcdUnary } from './etcd-unary.js';
import { electionPrefix } from './recipe-keys.js';
import { SessionExpired, type QueuedKey, type WaitingQueue } from './waiting-queue.js';

export interface EtcdElectionDeps {
  readonly queue: WaitingQueue;
  readonly checkedAs: (call: ServerCall) => string;
  readonly logger: Logger;
}

function leaderKey(leader: LeaderKey | undefined): LeaderKey {
  if (leader === undefined) throw RECIPE_ERRORS.missingLeaderKey;
  return leader;
}

function queued(leader: LeaderKey): QueuedKey {
  return { key: leader.key, createRevision: leader.rev, header: { clusterId: 0, memberId: 0, revision: 0, raftTerm: 0 } };
}

/**
 * v3election as etcd's server runs it (concurrency.Election): a candidate's key
 * `<name>/<lease hex>` holds its value, and the candidate whose key is oldest leads. The
 * LeaderKey a Campaign returns (key, create revision, lease) is what Proclaim and Resign
 * act on, only while that very key exists.
 */
export function etcdElectionService(deps: EtcdElectionDeps): ElectionServer {
  const { queue, logger } = deps;
  return {
    campaign: etcdUnary(logger, 'Campaign', async (req, call) => {
      const signal = signalOf(call);
      const checkedAs = deps.checkedAs(call);
      const lease = req.lease !== 0 ? req.lease : await queue.grantSessionLease();
      const prefix = electionPrefix(req.name);
      const mine = await queue.join(prefix, lease, req.value, checkedAs, true);
      try {
        const header = await queue.waitTurn(prefix, mine, signal);
        return { header, leader: { name: req.name, key: mine.key, rev: mine.createRevision, lease } };
      } catch (err) {
        // concurrency's Campaign waits for deletes only; a lost key surfaces at the next Proclaim.
        if (err instanceof SessionExpired) throw RECIPE_ERRORS.electionNotLeader;
        // Campaign resigns when its context ends.
        await queue
          .deleteIfOwner(mine.key, mine.createRevision, checkedAs)
          .catch((cleanup: unknown) => logger.warn({ err: cleanup }, 'could not withdraw a candidate key'));
        throw err;
      }
    }),
    proclaim: etcdUnary(logger, 'Proclaim', async (req, call) => {
      const leader = leaderKey(req.leader);
      const header = await queue.putIfOwner(queued(leader), leader.lease, req.value, deps.checkedAs(call));
      if (header === undefined) throw RECIPE_ERRORS.electionNotLeader;
      return { header };
    }),
    leader: etcdUnary(logger, 'Leader', async (req) => {
      const { kv, header } = await queue.first(electionPrefix(req.name));
      if (kv === undefined) throw RECIPE_ERRORS.electionNoLeader;
      return { header, kv };
    }),
    observe: (call: ServerWritableStream<LeaderRequest, LeaderResponse>) => {
      observe(queue, call).then(
        () => {
          if (!call.cancelled) call.end();
        },
        (err: unknown) => {
          if (call.cancelled) return;
          if (!(err instanceof CairnError) && !(err instanceof EtcdStatusError)) logger.error({ err }, 'election observe failed');
          call.emit('error', toEtcdServiceError(err));
        },
      );
    },
    resign: etcdUnary(logger, 'Resign', async (req, call) => {
      const leader = leaderKey(req.leader);
      return { header: await queue.deleteIfOwner(leader.key, leader.rev, deps.checkedAs(call)) };
    }),
  };
}

/**
 * Election.Observe: the leader's key-value when first seen, then again each time the
 * leadership or the leader's value changes, until the client cancels. Re-read on every
 * change under the prefix, so a burst of changes is reported as the state it leaves.
 */
async function observe(queue: WaitingQueue, call: ServerWritableStream<LeaderRequest, LeaderResponse>): Promise<void> {
  const signal = signalOf(call);
  const prefix = electionPrefix(call.request.name);
  let last: { key: Buffer; modRevision: number } | undefined;
  while (!signal.aborted) {
    const changed = queue.nextChange(prefix, signal);
    const { kv, header } = await queue.first(prefix);
    if (kv !== undefined && (last === undefined || !last.key.equals(kv.key) || last.modRevision !== kv.modRevision)) {
      last = { key: kv.key, modRevision: kv.modRevision };
      // The transport's buffer is bounded by its flow control: wait for it to drain.
      if (!call.write({ header, kv })) await new Promise<void>((resolve) => call.once('drain', resolve));
    }
    await changed;
  }
}
