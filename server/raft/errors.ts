/**
 * Invariant violations: bugs (or corrupted input), never expected conditions. Callers must
 * let them crash the process rather than catch them.
 *
 * This is the server's one assertion helper. It lives in the Raft core because the core may
 * import nothing from outside server/raft/; the rest of the server imports it through
 * server/invariant.ts, which re-exports these same bindings.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantError(typeof message === 'string' ? message : message());
  }
}
