/**
 * Durability of a single node against SIGKILL: a real `cairn serve` process is killed in
 * the middle of a concurrent write load, restarted on the same data dir, and must hold
 * every write it acknowledged, at the revision it acknowledged.
 */
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { KVServiceClient, PutRequest, RangeRequest, type PutResponse, type RangeResponse } from '../../gen/ts/cairn/v1/kv.js';
import { waitUntil } from '../helpers/wait.js';
import { startNodeProcess } from '../helpers/node-process.js';

const CLIENTS = 16;
const KILL_AFTER_ACKS = 400;
const CYCLES = 3;

interface Ack {
  key: string;
  value: string;
  revision: number;
}

function put(client: KVServiceClient, key: string, value: string): Promise<PutResponse> {
  return new Promise((resolve, reject) =>
    client.put(
      PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from(value) }),
      new Metadata(),
      // Generous: a put that times out on a slow machine would end its worker; a kill
      // fails the put at once anyway.
      { deadline: Date.now() + 30_000 },
      (err: ServiceError | null, res?: PutResponse) => (err ? reject(err) : resolve(res!)),
    ),
  );
}

/** Generous: the node has just restarted, replays its log and elects itself, on a busy CI machine. */
function range(client: KVServiceClient, req: Partial<RangeRequest>): Promise<RangeResponse> {
  return new Promise((resolve, reject) =>
    client.range(
      RangeRequest.fromPartial(req),
      new Metadata(),
      { deadline: Date.now() + 30_000 },
      (err: ServiceError | null, res?: RangeResponse) => (err ? reject(err) : resolve(res!)),
    ),
  );
}

for (const engine of ['rocksdb', 'leveldb'] as const) {
  test(`${engine}: SIGKILL during a write load loses no acknowledged write`, async (t) => {
    const node = await startNodeProcess({ args: ['--engine', engine, '--log-level', 'warn'] });
    t.teardown(() => node.cleanup());
    const acks: Ack[] = [];
    let unknown = 0;

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const client = new KVServiceClient(node.address, credentials.createInsecure());
      let stop = false;
      let sequence = 0;
      const acksBefore = acks.length;
      const worker = async (id: number): Promise<void> => {
        while (!stop) {
          const key = `c${cycle}/w${id}/${sequence++}`;
          const value = `v-${key}-${'x'.repeat(64)}`;
          try {
            const res = await put(client, key, value);
            acks.push({ key, value, revision: res.header!.revision });
          } catch {
            // The node died under this request: it may or may not have been applied.
            unknown++;
            return;
          }
        }
      };
      const workers = Array.from({ length: CLIENTS }, (_, i) => worker(i));
      await waitUntil(() => acks.length - acksBefore >= KILL_AFTER_ACKS, 60_000, `${KILL_AFTER_ACKS} acknowledged writes`);
      await node.kill();
      stop = true;
      await Promise.all(workers);
      client.close();
      await node.restart();
    }

    const client = new KVServiceClient(node.address, credentials.createInsecure());
    t.teardown(() => client.close());
    const readStarted = Date.now();
    const all = await range(client, { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }).catch((err: unknown) => {
      throw new Error(`reading back after the last restart failed: ${String(err)}\n--- node output ---\n${node.output()}`);
    });
    t.log(`first linearizable read after the last restart took ${Date.now() - readStarted} ms`);
    const stored = new Map(all.kvs.map((kv) => [kv.key.toString(), kv]));
    const revisions = new Set<number>();
    for (const ack of acks) {
      const kv = stored.get(ack.key);
      if (kv === undefined) return t.fail(`acknowledged write ${ack.key} at revision ${ack.revision} is missing after restart`);
      t.is(kv.value.toString(), ack.value);
      t.is(kv.modRevision, ack.revision, `${ack.key} was acknowledged at revision ${ack.revision}`);
      t.false(revisions.has(ack.revision), `revision ${ack.revision} acknowledged twice`);
      revisions.add(ack.revision);
    }
    const maxAcked = Math.max(...revisions);
    t.true(all.header!.revision >= maxAcked, 'the current revision went backwards');
    // Every stored key is a write that was acknowledged or in flight when the node died.
    t.true(stored.size <= acks.length + unknown);
    const next = await put(client, 'after-crash', 'ok');
    t.is(next.header!.revision, all.header!.revision + 1, 'revisions continue from the recovered one');
    t.log(`${engine}: ${acks.length} acknowledged writes over ${CYCLES} kills, ${unknown} in flight at a kill`);
  });
}
