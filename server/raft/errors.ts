/**
 * Invariant violations inside the Raft core. These are bugs (or corrupted input), never
 * expected conditions: callers must let them crash the process rather than catch them.
 */
export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
}

export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new RaftInvariantError(typeof message === 'string' ? message : message());
  }
}
