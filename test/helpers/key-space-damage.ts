/**
 * For the corruption-check tests: a member's stored value changed offline (revisions and
 * everything else kept, so it starts as if healthy).
 */
import { KeyValue } from '../../gen/ts/cairn/v1/types.js';
import { MVCC_SPAN } from '../../server/mvcc/schema.js';
import { openEngine } from '../../server/storage/open-engine.js';

/** Rewrites the newest stored version of `key` with another value, keeping its revisions. */
export async function forgeValue(dataDir: string, key: string, value: string): Promise<void> {
  const engine = await openEngine('rocksdb', dataDir);
  try {
    let newest: { storedKey: Buffer; kv: KeyValue } | undefined;
    for await (const [storedKey, stored] of engine.scan(MVCC_SPAN)) {
      const kv = KeyValue.decode(stored);
      if (kv.key.toString() === key && (newest === undefined || kv.modRevision > newest.kv.modRevision)) newest = { storedKey, kv };
    }
    if (newest === undefined) throw new Error(`${key} is not stored in ${dataDir}`);
    const forged = KeyValue.encode({ ...newest.kv, value: Buffer.from(value) }).finish();
    await engine.write([{ type: 'put', key: newest.storedKey, value: Buffer.from(forged) }], { sync: true });
  } finally {
    await engine.close();
  }
}
