/**
 * The in-memory Raft log is bounded in bytes (--max-raft-log-memory-bytes), on a real
 * `cairn serve` process: puts of large values well past a small bound, the
 * cairn_raft_log_memory_bytes gauge read after every acknowledged put, the compactions
 * counted by cause, then a crash (SIGKILL) and every acknowledged write read back.
 */
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { KVServiceClient, PutRequest, RangeRequest, type PutResponse, type RangeResponse } from '../../gen/ts/cairn/v1/kv.js';
import { freePort } from '../helpers/cluster-process.js';
import { startNodeProcess } from '../helpers/node-process.js';

const BOUND = 4 * 1024 * 1024;
const VALUE_BYTES = 512 * 1024;
const PUTS = 40; // 20 MiB of values: five times the bound
/** One request's share of the log: its value, key and envelope, well under this. */
const ONE_REQUEST = VALUE_BYTES + 4096;
const DEADLINE_MS = 60_000;

function call<T>(
  f: (metadata: Metadata, options: { deadline: number }, cb: (err: ServiceError | null, res: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) =>
    f(new Metadata(), { deadline: Date.now() + DEADLINE_MS }, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

/** A value no other put shares: its index in every byte, and the index up front. */
function valueOf(i: number): Buffer {
  const v = Buffer.alloc(VALUE_BYTES, i % 256);
  v.writeUInt32BE(i, 0);
  return v;
}

/** The member's metrics in Prometheus text format, one sample by name (and labels). */
async function scrape(address: string): Promise<(sample: string) => number> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  return (sample) => {
    const line = text.split('\n').find((l) => l.startsWith(`${sample}{`) || l.startsWith(`${sample} `));
    if (line === undefined) throw new Error(`no ${sample} in /metrics`);
    // Labels may carry spaces only inside quotes; the value is the last field.
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
}

const compactions = (read: (s: string) => number, cause: string): number => {
  try {
    return read(`cairn_raft_log_compactions_total{cause="${cause}",member="default"}`);
  } catch {
    return 0;
  }
};

test('the in-memory raft log stays within its byte bound under large puts, is compacted by bytes, and loses no acknowledged write', async (t) => {
  const metrics = `127.0.0.1:${await freePort()}`;
  const node = await startNodeProcess({
    args: ['--max-raft-log-memory-bytes', String(BOUND), '--metrics-listen', metrics, '--log-level', 'warn'],
  });
  let client = new KVServiceClient(node.address, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await node.cleanup();
  });

  let highest = 0;
  for (let i = 0; i < PUTS; i++) {
    const req = PutRequest.fromPartial({ key: Buffer.from(`big/${i}`), value: valueOf(i) });
    await call<PutResponse>((md, o, cb) => client.put(req, md, o, cb));
    const read = await scrape(metrics);
    const held = read('cairn_raft_log_memory_bytes');
    highest = Math.max(highest, held);
    t.true(held <= BOUND + ONE_REQUEST, `after put ${i}: ${held} bytes of log in memory, bound ${BOUND}\n${node.output()}`);
  }
  const read = await scrape(metrics);
  const peak = read('cairn_raft_log_memory_peak_bytes');
  t.true(peak <= BOUND + ONE_REQUEST, `peak ${peak} bytes, bound ${BOUND} plus one request`);
  t.true(peak > BOUND, `peak ${peak}: the bound was reached (else this test proves nothing)`);
  t.is(read('cairn_raft_log_memory_limit_bytes'), BOUND);
  const byBytes = compactions(read, 'bytes');
  t.true(byBytes >= 3, `${byBytes} compactions by bytes for ${PUTS} puts of ${VALUE_BYTES} bytes`);
  t.is(compactions(read, 'entries'), 0, 'none by count: --snapshot-count (10,000) was never reached');
  t.log(`highest scraped ${highest}, peak ${peak}, compactions by bytes ${byBytes}`);

  // A crash, not a clean stop: every acknowledged put must come back from the engine and the log.
  await node.kill();
  await node.restart();
  client.close();
  client = new KVServiceClient(node.address, credentials.createInsecure());
  for (let i = 0; i < PUTS; i++) {
    const req = RangeRequest.fromPartial({ key: Buffer.from(`big/${i}`) });
    const res = await call<RangeResponse>((md, o, cb) => client.range(req, md, o, cb));
    const kv = res.kvs[0];
    t.truthy(kv, `big/${i} is gone after the restart`);
    if (kv !== undefined) t.true(Buffer.from(kv.value).equals(valueOf(i)), `big/${i} reads back what was acknowledged`);
  }
  const after = await scrape(metrics);
  t.true(after('cairn_raft_log_memory_bytes') <= BOUND + ONE_REQUEST, 'and the log loaded on restart is within the bound');
});
