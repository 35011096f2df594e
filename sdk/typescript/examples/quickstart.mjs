import { CairnClient, CairnError, Compare, Op } from '@cairn/client';

// Endpoints come from CAIRN_ENDPOINTS (comma-separated), else 127.0.0.1:7379.
const client = new CairnClient();

// Put and get (linearizable by default: never stale). Revisions and versions are bigints.
const put = await client.put('quickstart/greeting', 'hello');
const greeting = await client.get('quickstart/greeting');
console.log(`greeting=${greeting?.valueString} version=${greeting?.version} rev=${put.revision}`);

// Stale read: served by the member in use from its own data, without a quorum round.
const stale = await client.get('quickstart/greeting', { consistency: 'stale' });
// Bounded staleness: local only if that member heard from the leader in the last 500 ms.
const bounded = await client.get('quickstart/greeting', { maxStalenessMs: 500 });
console.log(`stale=${stale?.valueString} bounded=${bounded?.valueString}`);

// A transaction: compare-and-swap.
const swap = await client
  .txn()
  .if(Compare.value('quickstart/greeting', '==', 'hello'))
  .then(Op.put('quickstart/greeting', 'hello again'))
  .else(Op.get('quickstart/greeting'))
  .commit();
console.log(`swapped=${swap.succeeded}`);

// Watch: replay from the first put, one batch per revision; `break` cancels the watch.
for await (const batch of client.watch('quickstart/', { prefix: true, startRevision: put.revision })) {
  for (const e of batch.events) console.log(`watch rev=+${batch.revision - put.revision} ${e.type} ${e.kv.keyString}=${e.kv.valueString}`);
  if (batch.revision >= swap.revision) break;
}

// Typed config: JSON values, validated by a decoder of your choice (in TypeScript,
// `decode: (json: unknown) => ServiceConfig` makes getConfig return a ServiceConfig).
function decodeServiceConfig(json) {
  if (typeof json?.image !== 'string' || typeof json.replicas !== 'number') throw new TypeError('not a ServiceConfig');
  return { image: json.image, replicas: json.replicas };
}
await client.put('quickstart/service', JSON.stringify({ image: 'web:1', replicas: 2 }));
const config = await client.getConfig('quickstart/service', { decode: decodeServiceConfig });
console.log(`config image=${config?.image} replicas=${config?.replicas}`);

// watchConfig yields the current version first, then each new one.
for await (const { value } of client.watchConfig('quickstart/service', { decode: decodeServiceConfig })) {
  console.log(`config update replicas=${value?.replicas}`);
  if (value === undefined || value.replicas >= 3) break;
  await client.put('quickstart/service', JSON.stringify({ ...value, replicas: value.replicas + 1 }));
}

// Errors are CairnErrors: the gRPC status and the server's own code.
try {
  await client.put('', 'an empty key is invalid');
} catch (err) {
  if (!(err instanceof CairnError)) throw err;
  console.log(`error ${err.codeName} ${err.cairnCodeName}`);
}

await client.delete({ prefix: 'quickstart/' });
client.close();
