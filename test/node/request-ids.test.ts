/**
 * Request ids are unique across restarts of a member. An entry proposed just before a
 * member was killed can commit and be applied after it restarted; its outcome goes to the
 * pending request with the same (member id, id). When every incarnation counted from 1, the
 * restarted member's first write received the old entry's outcome (chaos seed 1864961673:
 * `put k2=c7-91` acknowledged at revision 204 but committed at 207).
 */
import test from 'ava';
import { pino } from 'pino';
import { Command, Proposal } from '../../gen/ts/cairn/internal/v1/command.js';
import type { RaftDriver } from '../../server/node/raft-driver.js';
import { RaftNode } from '../../server/node/raft-node.js';
import { COUNTER_BITS, incarnationFirstId } from '../../server/node/request-ids.js';
import { StateRole } from '../../server/raft/types.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const MEMBER = 7;

/** One incarnation of member 7, started at `startedAt` (ms), with the proposals it handed to Raft. */
function incarnation(startedAt: number) {
  const proposed: Proposal[] = [];
  const reads: Uint8Array[] = [];
  const driver = {
    propose: (data: Uint8Array) => {
      proposed.push(Proposal.decode(data));
      return { accepted: true };
    },
    readIndex: (context: Uint8Array) => {
      reads.push(context);
      return { accepted: true };
    },
    status: () => ({ id: MEMBER, role: StateRole.Follower, leader: 1, term: 1, commit: 0, applied: 0, lastIndex: 0 }),
    step: () => undefined,
    stop: () => undefined,
  } as unknown as RaftDriver;
  const node = new RaftNode<string>(
    driver,
    MEMBER,
    { leaderWaitMs: 1000, requestMs: 5000 },
    pino({ level: 'silent' }),
    undefined,
    undefined,
    () => startedAt,
  );
  node.step([]); // learns the leader
  return { node, proposed, reads };
}

async function state(p: Promise<unknown>): Promise<string> {
  return Promise.race([p.then(String, () => 'rejected'), turn().then(() => 'pending')]);
}

test('an entry of the previous incarnation applied after a restart does not answer a new request', async (t) => {
  const startedAt = Date.UTC(2026, 10, 29, 7, 0, 0);
  const before = incarnation(startedAt);
  void before.node.submit(Command.fromPartial({})).catch(() => undefined); // in flight when the member is killed
  await turn();
  const old = before.proposed[0]!;
  await before.node.close();

  // The restart takes a while; even one millisecond is enough.
  const after = incarnation(startedAt + 1);
  const write = after.node.submit(Command.fromPartial({}));
  await turn();
  const mine = after.proposed[0]!;
  t.is(mine.memberId, old.memberId);
  t.not(mine.id, old.id, 'the new incarnation reuses an id of the old one');

  // The old entry commits and is applied by the restarted member: it is not the new write's.
  after.node.onOutcome(old.id, 'outcome of the old entry');
  t.is(await state(write), 'pending');
  after.node.onOutcome(mine.id, 'outcome of the new write');
  t.is(await state(write), 'outcome of the new write');
  await after.node.close();
});

test('a read state for a read of the previous incarnation does not release a new read', async (t) => {
  const startedAt = Date.UTC(2026, 10, 29, 7, 0, 0);
  const before = incarnation(startedAt);
  void before.node.linearizableRead().catch(() => undefined);
  await turn();
  await before.node.close();

  const after = incarnation(startedAt + 1);
  const read = after.node.linearizableRead();
  await turn();
  t.notDeepEqual(after.reads[0], before.reads[0]);
  after.node.onReadState({ index: 1, context: before.reads[0]! });
  t.is(await state(read), 'pending', 'the old read point may predate the new read');
  after.node.onReadState({ index: 1, context: after.reads[0]! });
  t.is(await state(read), 'undefined');
  await after.node.close();
});

test('a later incarnation starts above every id an earlier one could have used', (t) => {
  const startedAt = Date.UTC(2026, 10, 29, 7, 0, 0);
  // An incarnation that ran for one second issued far fewer than 4096 ids per millisecond.
  const lastOfFirst = incarnationFirstId(startedAt) + 1000 * 2 ** COUNTER_BITS - 1;
  t.true(incarnationFirstId(startedAt + 1000) > lastOfFirst);
  t.true(Number.isSafeInteger(incarnationFirstId(Date.UTC(2090, 0, 1)) + 2 ** 40));
});
