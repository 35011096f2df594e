/**
 * With no member answering, a call fails one call timeout (DEFAULT_CALL_TIMEOUT_MS, 5 s,
 * the same in every SDK) after it was made: discovery of the members, connection attempts
 * and retries all share that one deadline. The endpoint is a loopback port nobody listens
 * on, so every connection is refused at once and only the deadline ends the call.
 */
import test from 'ava';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CairnClient, CairnError, DEFAULT_CALL_TIMEOUT_MS } from '../src/index.js';

/** A loopback port that was free a moment ago and that nothing listens on now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  return address.port;
}

for (const [name, call] of [
  ['put', (c: CairnClient) => c.put('k', 'v')],
  ['get', (c: CairnClient) => c.get('k')],
  ['memberList', (c: CairnClient) => c.memberList()],
] as const) {
  test(`the first ${name} with no member answering fails within the call timeout (±20%)`, async (t) => {
    const client = new CairnClient({ endpoints: `127.0.0.1:${await closedPort()}` });
    try {
      const start = performance.now();
      const err = await t.throwsAsync(call(client));
      const elapsed = performance.now() - start;
      t.true(err instanceof CairnError && err.isUnavailable, String(err));
      t.log(`${name} failed after ${Math.round(elapsed)} ms: ${err?.message}`);
      t.true(elapsed >= DEFAULT_CALL_TIMEOUT_MS * 0.8, `failed after ${Math.round(elapsed)} ms, before the deadline`);
      t.true(elapsed <= DEFAULT_CALL_TIMEOUT_MS * 1.2, `failed after ${Math.round(elapsed)} ms, past the deadline`);
    } finally {
      client.close();
    }
  });
}
