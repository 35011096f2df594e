/**
 * The server's one assertion helper, for invariants that must never break: a violation is a
 * bug (or corrupted input) and crashes the process; it is never a CairnError someone could
 * answer or swallow. Defined in server/raft/errors.ts so that the pure Raft core can use it
 * too (it may import only server/raft/ and gen/); this is the same function and class.
 */
export { InvariantError, invariant } from './raft/errors.js';
