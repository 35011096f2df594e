/**
 * `npm run bench:failover`: how long a three-member cluster is unavailable for writes when
 * its leader dies. Each round kills the leader with SIGKILL, then issues short puts round
 * robin over the survivors until one succeeds; the time from the kill to that success is
 * the failover time. The killed member is restarted and the cluster converges before the
 * next round. Prints every round and the median.
 *
 *   npm run bench:failover -- --rounds 7
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { KVServiceClient, PutRequest, type PutResponse } from '../gen/ts/cairn/v1/kv.js';
import { startClusterProcesses } from '../test/helpers/cluster-process.js';

const roundsFlag = process.argv.indexOf('--rounds');
const rounds = roundsFlag >= 0 ? Number(process.argv[roundsFlag + 1]) : 5;
const PROBE_DEADLINE_MS = 200;

function put(client: KVServiceClient, key: string, value: string): Promise<PutResponse> {
  return new Promise((resolve, reject) =>
    client.put(
      PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from(value) }),
      new Metadata(),
      { deadline: Date.now() + PROBE_DEADLINE_MS },
      (err: ServiceError | null, res: PutResponse) => (err ? reject(err) : resolve(res)),
    ),
  );
}

const cluster = await startClusterProcesses(3, ['--log-level', 'warn']);
const clients = new Map(cluster.members.map((m) => [m.name, new KVServiceClient(m.address, credentials.createInsecure())]));
const times: number[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const leaderName = await cluster.waitForLeader();
    const survivors = cluster.members.filter((m) => m.name !== leaderName).map((m) => clients.get(m.name)!);
    await put(survivors[0]!, 'warm', String(round)).catch(() => undefined);
    const killedAt = Date.now();
    await cluster.member(leaderName).process.kill();
    for (let i = 0; ; i++) {
      try {
        await put(survivors[i % survivors.length]!, 'failover', `${round}:${i}`);
        break;
      } catch {
        if (Date.now() - killedAt > 30_000) throw new Error('no write succeeded within 30 s');
      }
    }
    const ms = Date.now() - killedAt;
    times.push(ms);
    console.log(`round ${round}: killed leader ${leaderName}; first write succeeded after ${ms} ms`);
    await cluster.member(leaderName).process.restart();
    await cluster.waitForConvergence();
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `failover over ${rounds} rounds: median ${sorted[Math.floor(sorted.length / 2)]} ms, min ${sorted[0]} ms, max ${sorted[sorted.length - 1]} ms (heartbeat 100 ms, election timeout 1000 ms)`,
  );
} finally {
  for (const client of clients.values()) client.close();
  await cluster.cleanup();
}
