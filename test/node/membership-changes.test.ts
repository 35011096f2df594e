// The Cluster service's changes on the leader: a change the core refuses only because this
// leader has not yet committed an entry of its term (as a removal sent on right after a
// leadership hand-over is) waits for that commit instead of bouncing back to the caller.
import test from 'ava';
import { Membership } from '../../server/node/membership.js';
import { MembershipChanges } from '../../server/node/membership-changes.js';
import type { DriverConfChangeResult, DriverStatus, RaftDriver } from '../../server/node/raft-driver.js';
import type { ConfChange } from '../../server/raft/conf-change.js';
import { DropReason, StateRole } from '../../server/raft/types.js';
import { ErrorCode } from '../../server/errors.js';

const n1 = { id: 1, name: 'n1', address: '127.0.0.1:1' };
const n2 = { id: 2, name: 'n2', address: '127.0.0.1:2' };
const n3 = { id: 3, name: 'n3', address: '127.0.0.1:3' };

/**
 * The driver's side as the membership layer sees it: `tooEarly` proposals are refused with
 * ConfChangeTooEarly (the core's answer until the leader's first commit in its term), then
 * each is accepted and applied at once. `role` may be changed between proposals.
 */
function driverRefusingFirst(tooEarly: number) {
  const proposed: ConfChange[] = [];
  const state = { role: StateRole.Leader as StateRole, leader: 1 };
  const driver: Pick<RaftDriver, 'status' | 'progress' | 'proposeConfChange'> = {
    status: (): DriverStatus => ({ id: 1, role: state.role, leader: state.leader, term: 2, commit: 10, applied: 10, lastIndex: 10 }),
    progress: () => new Map(),
    proposeConfChange: (cc: ConfChange): DriverConfChangeResult => {
      proposed.push(cc);
      if (proposed.length <= tooEarly) return { accepted: false, reason: DropReason.ConfChangeTooEarly };
      return {
        accepted: true,
        index: 11,
        term: 2,
        applied: Promise.resolve({ index: 11, change: cc, confState: { voters: [1, 2], learners: [] } }),
      };
    },
  };
  return { driver, proposed, state };
}

function changes(driver: Pick<RaftDriver, 'status' | 'progress' | 'proposeConfChange'>, timeoutMs = 30_000): MembershipChanges {
  const membership = new Membership(n1, { known: [n1, n2, n3], removed: [] }, { voters: [1, 2, 3], learners: [] });
  return new MembershipChanges({ membership, driver, moveLeader: () => Promise.resolve(), timeoutMs });
}

test('a change refused as too early is offered again until the new leader has committed in its term', async (t) => {
  const { driver, proposed } = driverRefusingFirst(3);
  await changes(driver).remove(3);
  t.is(proposed.length, 4, 'three refusals, then the accepted proposal');
});

test('past the bound, the refusal reaches the caller as MEMBERSHIP_CHANGE_REFUSED', async (t) => {
  const { driver } = driverRefusingFirst(Number.POSITIVE_INFINITY);
  const err = await t.throwsAsync(changes(driver, 100).remove(3));
  t.is((err as { code?: unknown }).code, ErrorCode.ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED);
  t.regex(err?.message ?? '', /has not committed an entry of its term yet/);
});

test('leadership lost while waiting answers NOT_LEADER, naming the new leader', async (t) => {
  const { driver, proposed, state } = driverRefusingFirst(Number.POSITIVE_INFINITY);
  const pending = changes(driver).remove(3);
  // After the first refusal this member is a follower of n2.
  while (proposed.length === 0) await new Promise((r) => setImmediate(r));
  state.role = StateRole.Follower;
  state.leader = 2;
  const err = await t.throwsAsync(pending);
  t.is((err as { code?: unknown }).code, ErrorCode.ERROR_CODE_NOT_LEADER);
  t.regex(err?.message ?? '', /the leader is n2 at 127\.0\.0\.1:2/);
});
