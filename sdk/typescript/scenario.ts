/**
 * The cross-SDK scenario (../scenario/SCENARIO.md): run against a fresh three-member
 * cluster, it prints exactly ../scenario/expected.txt. Endpoints from CAIRN_ENDPOINTS.
 *
 *   CAIRN_ENDPOINTS=127.0.0.1:7379 node --import tsx sdk/typescript/scenario.ts
 */
import { pathToFileURL } from 'node:url';
import { CairnClient, CairnError, Compare, Op, type WatchEvent } from './src/index.js';

interface WebConfig {
  name: string;
  replicas: number;
}

function decodeWebConfig(json: unknown): WebConfig {
  const c = json as Partial<WebConfig> | null;
  if (typeof c?.name !== 'string' || typeof c.replicas !== 'number') throw new TypeError('not a WebConfig');
  return { name: c.name, replicas: c.replicas };
}

export async function runScenario(print: (line: string) => void): Promise<void> {
  const client = new CairnClient();
  try {
    const a1 = await client.put('scn/a', '1');
    print(`put scn/a rev=${a1.revision}`);
    const b = await client.put('scn/b', '2');
    print(`put scn/b rev=${b.revision}`);

    const a = await client.get('scn/a');
    if (a === undefined) throw new Error('scn/a is missing');
    print(`get scn/a=${a.valueString} version=${a.version} create=${a.createRevision} mod=${a.modRevision}`);

    const a3 = await client.put('scn/a', '3', { prevKv: true });
    print(`put scn/a rev=${a3.revision} prev=${a3.prevKv?.valueString ?? ''}`);

    const scn = await client.getPrefix('scn/');
    print(`range scn/ count=${scn.count}: ${scn.kvs.map((kv) => `${kv.keyString}=${kv.valueString}`).join(' ')}`);

    const t1 = await client
      .txn()
      .if(Compare.value('scn/a', '==', '3'))
      .then(Op.put('scn/c', '4'))
      .else(Op.put('scn/c', 'x'))
      .commit();
    print(`txn succeeded=${t1.succeeded} rev=${t1.revision}`);

    const t2 = await client
      .txn()
      .if(Compare.version('scn/b', '>', 5))
      .then(Op.delete('scn/b'))
      .else(Op.get('scn/b'))
      .commit();
    const got = t2.results[0]?.type === 'get' ? t2.results[0].get.kvs[0]?.valueString : undefined;
    print(`txn succeeded=${t2.succeeded} rev=${t2.revision} get scn/b=${got ?? ''}`);

    const del = await client.delete('scn/b');
    print(`delete scn/b deleted=${del.deleted} rev=${del.revision}`);

    // The linearizable read first makes sure the member in use has applied scn/c.
    await client.get('scn/c');
    const stale = await client.get('scn/c', { consistency: 'stale' });
    print(`stale get scn/c=${stale?.valueString ?? ''}`);

    const events: WatchEvent[] = [];
    for await (const batch of client.watch('scn/', { prefix: true, startRevision: 1 })) {
      events.push(...batch.events);
      if (events.length >= 5) break;
    }
    for (const e of events.slice(0, 5)) {
      print(
        e.type === 'put'
          ? `event PUT ${e.kv.keyString}=${e.kv.valueString} rev=${e.kv.modRevision}`
          : `event DELETE ${e.kv.keyString} rev=${e.kv.modRevision}`,
      );
    }

    await client.put('scn/config', JSON.stringify({ name: 'web', replicas: 3 }));
    const config = await client.getConfig('scn/config', { decode: decodeWebConfig });
    print(`config name=${config?.name ?? ''} replicas=${config?.replicas ?? ''}`);

    await client.compact(3);
    try {
      await client.get('scn/a', { revision: 2 });
      print('get scn/a rev=2 error=none');
    } catch (err) {
      if (!(err instanceof CairnError)) throw err;
      print(`get scn/a rev=2 error=${err.codeName}`);
    }
  } finally {
    client.close();
  }
}

// Run when executed directly, not when a test imports runScenario.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runScenario((line) => process.stdout.write(`${line}\n`));
}
