/**
 * Linearizable reads that arrive together share one read-index request: a burst of reads
 * costs one heartbeat round, not one per read (each used to cost a forwarded request, a
 * heartbeat broadcast and its acks, which made 900 concurrent reads take seconds of CPU).
 * A read that arrives after its batch was handed to the core waits for the next one, since
 * the read point of an earlier request may predate it.
 */
import test from 'ava';
import { pino } from 'pino';
import { CairnError, ErrorCode } from '../../server/errors.js';
import type { RaftDriver } from '../../server/node/raft-driver.js';
import { RaftNode } from '../../server/node/raft-node.js';
import { StateRole } from '../../server/raft/types.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function fixture() {
  const contexts: Uint8Array[] = [];
  let lead = 1;
  const driver = {
    readIndex: (context: Uint8Array) => {
      contexts.push(context);
      return { accepted: true };
    },
    status: () => ({ id: 7, role: StateRole.Follower, leader: lead, term: 1, commit: 0, applied: 0, lastIndex: 0 }),
    step: () => undefined,
    stop: () => undefined,
  } as unknown as RaftDriver;
  const node = new RaftNode(driver, 7, { leaderWaitMs: 1000, requestMs: 5000 }, pino({ level: 'silent' }));
  node.step([]); // learns the leader
  return {
    node,
    contexts,
    /** The driver reports the read state of the i-th read-index request. */
    confirm: (i: number) => node.onReadState({ index: 1, context: contexts[i]! }),
    changeLeader: () => {
      lead++;
      node.step([]);
    },
  };
}

/** Settles to 'pending' when `p` has not settled within one turn of the event loop. */
async function state(p: Promise<unknown>): Promise<string> {
  const settled = p.then(
    () => 'resolved',
    (err: unknown) => (err instanceof CairnError ? ErrorCode[err.code] : 'rejected'),
  );
  return Promise.race([settled, turn().then(() => 'pending')]);
}

test('reads that arrive together share one read-index request', async (t) => {
  const f = fixture();
  const reads = Array.from({ length: 50 }, () => f.node.linearizableRead());
  await turn();
  t.is(f.contexts.length, 1);
  f.confirm(0);
  t.deepEqual(await Promise.all(reads.map(state)), Array<string>(50).fill('resolved'));
});

test('a read that arrives after its batch left waits for the next request', async (t) => {
  const f = fixture();
  const first = f.node.linearizableRead();
  await turn();
  const second = f.node.linearizableRead();
  await turn();
  t.is(f.contexts.length, 2);
  t.notDeepEqual(f.contexts[0], f.contexts[1]);
  f.confirm(0);
  t.is(await state(first), 'resolved');
  t.is(await state(second), 'pending', 'the first read point may predate the second read');
  f.confirm(1);
  t.is(await state(second), 'resolved');
});

test('a leader change fails the waiting batch; later reads start a new one', async (t) => {
  const f = fixture();
  const before = f.node.linearizableRead();
  f.changeLeader();
  t.is(await state(before), ErrorCode[ErrorCode.ERROR_CODE_LEADER_CHANGED]);
  const after = f.node.linearizableRead();
  await turn();
  t.is(f.contexts.length, 2, 'the failed batch and a new one');
  f.confirm(1);
  t.is(await state(after), 'resolved');
});
