/**
 * Regression: linearizable reads through different members at the same moment. Each member
 * numbered its read-index requests from 1, and the leader keys pending reads by that
 * context, so two members' reads with the same number collided and one hung until its
 * deadline. Every read must complete.
 *
 * A lost read fails on the server, with TIMEOUT after --request-timeout; the client's own
 * deadline only bounds a hang. It is generous because the 900 calls queue in this one
 * process and on a busy two-core machine the burst as a whole can take many seconds: a
 * 5 s client deadline failed hundreds of healthy reads at load 10-16.
 */
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { KVServiceClient, RangeRequest, type RangeResponse } from '../../gen/ts/cairn/v1/kv.js';
import { startClusterProcesses } from '../helpers/cluster-process.js';

const READS_PER_MEMBER = 300;
const REQUEST_TIMEOUT_MS = 7000;
const CLIENT_DEADLINE_MS = 60_000;

test('concurrent linearizable reads through every member all complete', async (t) => {
  const cluster = await startClusterProcesses(3, ['--request-timeout', String(REQUEST_TIMEOUT_MS)]);
  t.teardown(() => cluster.cleanup());
  await cluster.waitForLeader();
  const clients = cluster.endpoints.map((address) => new KVServiceClient(address, credentials.createInsecure()));
  t.teardown(() => clients.forEach((c) => c.close()));

  const read = (client: KVServiceClient): Promise<RangeResponse> =>
    new Promise((resolve, reject) =>
      client.range(
        RangeRequest.fromPartial({ key: Buffer.from('k') }),
        new Metadata(),
        { deadline: Date.now() + CLIENT_DEADLINE_MS },
        (err: ServiceError | null, res: RangeResponse) => (err ? reject(err) : resolve(res)),
      ),
    );
  // Every member issues its reads in the same instants, so their request numbers line up.
  const started = Date.now();
  const results = await Promise.allSettled(clients.flatMap((client) => Array.from({ length: READS_PER_MEMBER }, () => read(client))));
  const failed = results.filter((r) => r.status === 'rejected');
  t.log(`${results.length} reads in ${Date.now() - started} ms`);
  t.is(
    failed.length,
    0,
    `${failed.length} of ${results.length} reads failed; first: ${failed[0]?.status === 'rejected' ? String(failed[0].reason) : ''}`,
  );
});
