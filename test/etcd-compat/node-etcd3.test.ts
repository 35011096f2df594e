/**
 * Issue 17's acceptance with the Node `etcd3` package (a devDependency for this test only):
 * a small scenario (put/get, prefix, watch from a revision with prev kv, lease-bound key,
 * txn compare-and-swap, lock) run against a three-member real etcd, where its transcript
 * must be EXPECTED (this validates the scenario), and against a three-member Cairn, where
 * it must be the same.
 */
import test from 'ava';
import { Etcd3, type IKeyValue } from 'etcd3';
import { startBothClusters, type BothClusters } from './both-clusters.js';

const EXPECTED: readonly string[] = [
  'get p/a: 1',
  'prefix p/: {"p/a":"1","p/b":"2"}',
  'count p/: 2',
  'watch: put p/w/x=1 (no prev)',
  'watch: put p/w/x=2 (prev 1)',
  'watch: delete p/w/x (prev 2)',
  'lease id is a decimal int64: true',
  'lease key before revoke: v',
  'lease key after revoke: null',
  'txn compare holds: succeeded=true',
  'txn compare stale: succeeded=false, saw 10',
  'lock key while held: 1',
  'lock key after release: 0',
];

async function scenario(endpoints: readonly string[]): Promise<string[]> {
  const client = new Etcd3({ hosts: endpoints.map((e) => `http://${e}`) });
  const out: string[] = [];
  try {
    await client.put('p/a').value('1');
    await client.put('p/b').value('2');
    out.push(`get p/a: ${await client.get('p/a').string()}`);
    out.push(`prefix p/: ${JSON.stringify(await client.getAll().prefix('p/').strings())}`);
    out.push(`count p/: ${await client.getAll().prefix('p/').count()}`);

    // Three changes first, then a watch from the first one's revision: replayed with prev kv.
    const first = await client.put('p/w/x').value('1').exec();
    await client.put('p/w/x').value('2');
    await client.delete().key('p/w/x');
    const watcher = await client.watch().prefix('p/w/').startRevision(first.header.revision).withPreviousKV().create();
    const events: string[] = [];
    const prev = (p: IKeyValue | null | undefined): string => (p === undefined || p === null ? 'no prev' : `prev ${p.value.toString()}`);
    await new Promise<void>((resolve, reject) => {
      const take = (line: string): void => {
        events.push(line);
        if (events.length === 3) resolve();
      };
      watcher.on('put', (kv, p) => take(`watch: put ${kv.key.toString()}=${kv.value.toString()} (${prev(p)})`));
      watcher.on('delete', (kv, p) => take(`watch: delete ${kv.key.toString()} (${prev(p)})`));
      watcher.on('error', reject);
    });
    await watcher.cancel();
    out.push(...events);

    const lease = client.lease(30, { autoKeepAlive: false });
    out.push(`lease id is a decimal int64: ${/^[1-9]\d*$/.test(await lease.grant())}`);
    await lease.put('p/l').value('v');
    out.push(`lease key before revoke: ${await client.get('p/l').string()}`);
    await lease.revoke();
    out.push(`lease key after revoke: ${await client.get('p/l').string()}`);

    const swap = (): Promise<{ succeeded: boolean; responses: { response_range?: { kvs: IKeyValue[] } | null }[] }> =>
      client.if('p/a', 'Value', '==', '1').then(client.put('p/a').value('10')).else(client.get('p/a')).commit();
    out.push(`txn compare holds: succeeded=${(await swap()).succeeded}`);
    const stale = await swap();
    out.push(`txn compare stale: succeeded=${stale.succeeded}, saw ${stale.responses[0]?.response_range?.kvs[0]?.value.toString()}`);

    const lock = client.lock('p/lock');
    await lock.acquire();
    out.push(`lock key while held: ${await client.getAll().prefix('p/lock').count()}`);
    await lock.release();
    out.push(`lock key after release: ${await client.getAll().prefix('p/lock').count()}`);
    return out;
  } finally {
    client.close();
  }
}

let both: BothClusters | undefined;

test.before(async (t) => {
  t.timeout(10 * 60_000);
  both = await startBothClusters();
});

test.after.always(async () => {
  await both?.cleanup();
});

test.serial('etcd3 (Node) against etcd: the scenario', async (t) => {
  t.deepEqual(await scenario(both!.etcd.endpoints), EXPECTED);
});

test.serial('etcd3 (Node) against Cairn: the same scenario', async (t) => {
  t.timeout(120_000);
  t.deepEqual(await scenario(both!.cairn.endpoints), EXPECTED);
});
