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
