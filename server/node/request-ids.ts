import { invariant } from '../invariant.js';

/**
 * Ids for this member's proposals and read-index requests, unique across restarts of the
 * member, not only within one process.
 *
 * An entry proposed just before a member was killed can still commit and be applied after
 * the member restarted. Its outcome is handed to the pending request with the same
 * (member id, request id); had the new incarnation counted from 1 again, a client of the
 * new incarnation would receive another entry's outcome (seen in the chaos test: a put
 * acknowledged at revision 204 that committed at 207).
 *
 * Like etcd's idutil.Generator, each incarnation starts its counter from the wall clock:
 * the first id is the milliseconds since EPOCH_MS shifted left by COUNTER_BITS, and ids
 * count up from there. A later incarnation therefore starts above every id an earlier one
 * used, as long as the earlier one issued fewer than 2^COUNTER_BITS (4096) ids per
 * millisecond on average over its life (orders of magnitude above what a member proposes)
 * and the wall clock did not step back across the restart by more than the restart took.
 * The member id is not folded in, because the proposal carries it separately.
 *
 * Ids stay below 2^53 (JavaScript numbers, and the generated code reads uint64 as number):
 * 41 bits of milliseconds since 2024 last until 2093.
 */
export const COUNTER_BITS = 12;
const EPOCH_MS = Date.UTC(2024, 0, 1);
/** Headroom above an incarnation's first id for the ids it will issue (10^12). */
const MAX_FIRST_ID = Number.MAX_SAFE_INTEGER - 2 ** 40;

/** The first request id of an incarnation that starts at `nowMs` (ms since 1970). */
export function incarnationFirstId(nowMs: number): number {
  const sinceEpoch = Math.floor(nowMs) - EPOCH_MS;
  invariant(sinceEpoch >= 0, `the wall clock (${nowMs} ms) is before 2024; request ids would not be unique across restarts`);
  const first = sinceEpoch * 2 ** COUNTER_BITS + 1;
  invariant(first < MAX_FIRST_ID, 'the wall clock is past 2093; request ids would overflow');
  return first;
}
