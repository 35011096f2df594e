/**
 * The ZooKeeper "ephemeral node" example, in Cairn terms: one process publishes `/config`
 * bound to its session; another watches `/config` and prints every change, including its
 * disappearance when the first process dies (its lease expires, and the key with it).
 *
 *   node --import tsx sdk/typescript/examples/ephemeral-config.ts publish   # terminal 1
 *   node --import tsx sdk/typescript/examples/ephemeral-config.ts watch     # terminal 2
 *   kill -9 <pid of the publisher>   # within its TTL (5 s), the watcher prints "config: (gone)"
 *
 * Endpoints come from CAIRN_ENDPOINTS (comma-separated), else 127.0.0.1:7379.
 * CONFIG_TTL sets the session's TTL in seconds (default 5).
 */
import { CairnClient } from '../src/index.js';

const KEY = '/config';
const client = new CairnClient();

async function publish(): Promise<void> {
  const session = await client.session({ ttl: Number(process.env['CONFIG_TTL'] ?? 5) });
  session.on('lost', (err: Error) => {
    console.error(`session lost: ${err.message}`);
    process.exit(1);
  });
  // Ctrl-C: close the session, which revokes the lease and deletes /config at once.
  process.once('SIGINT', () => void session.close().then(() => process.exit(0)));
  for (let version = 1; ; version++) {
    const config = { version, pid: process.pid, updatedAt: new Date().toISOString() };
    await session.register(KEY, JSON.stringify(config));
    console.log(`published ${KEY} ${JSON.stringify(config)} (lease ${session.leaseHex})`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

async function watch(): Promise<void> {
  // The current value first, then every new one; undefined while the key does not exist.
  for await (const { value, revision } of client.watchConfig(KEY)) {
    console.log(`config: ${value === undefined ? '(gone)' : JSON.stringify(value)} at revision ${revision}`);
  }
}

const mode = process.argv[2];
if (mode === 'publish') await publish();
else if (mode === 'watch') await watch();
else {
  console.error('usage: ephemeral-config.ts publish|watch');
  process.exit(2);
}
