/**
 * Waits in tests are bounded only to stop a stuck test, never to decide one: at least
 * this long, whatever the caller asked, since CI shares two busy cores with other work
 * (RELIABILITY.md 14). A wait that must end early to pass is no such wait.
 */
export const MIN_WAIT_MS = 30_000;

/**
 * Waits for a condition; fails with `message` (and optional detail) after timeoutMs,
 * or MIN_WAIT_MS if that is longer.
 */
export async function waitUntil(cond: () => boolean, timeoutMs: number, message: string | (() => string)): Promise<void> {
  const bound = Math.max(timeoutMs, MIN_WAIT_MS);
  const deadline = Date.now() + bound;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${bound} ms: ${typeof message === 'string' ? message : message()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Probes until it returns a value (a throw counts as not yet); fails with `what` after
 * timeoutMs, or MIN_WAIT_MS if that is longer.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const bound = Math.max(timeoutMs, MIN_WAIT_MS);
  const deadline = Date.now() + bound;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${bound} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs op until it succeeds (a member may answer UNAVAILABLE while a leader is elected);
 * fails with its last error after timeoutMs, or MIN_WAIT_MS if that is longer.
 */
export async function retryUntilOk<T>(op: () => Promise<T>, what: string, timeoutMs: number): Promise<T> {
  const bound = Math.max(timeoutMs, MIN_WAIT_MS);
  const deadline = Date.now() + bound;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${bound} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
