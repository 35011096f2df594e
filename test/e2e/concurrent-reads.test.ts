/**
 * Regression: linearizable reads through different members at the same moment. Each member
 * numbered its read-index requests from 1, and the leader keys pending reads by that
 * context, so two members' reads with the same number collided and one hung until its
 * deadline. Every read must complete.
 */
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { KVServiceClient, RangeRequest, type RangeResponse } from '../../gen/ts/cairn/v1/kv.js';
import { startClusterProcesses } from '../helpers/cluster-process.js';

const READS_PER_MEMBER = 300;

test('concurrent linearizable reads through every member all complete', async (t) => {
  const cluster = await startClusterProcesses(3);
  t.teardown(() => cluster.cleanup());
  await cluster.waitForLeader();
  const clients = cluster.endpoints.map((address) => new KVServiceClient(address, credentials.createInsecure()));
  t.teardown(() => clients.forEach((c) => c.close()));

  const read = (client: KVServiceClient): Promise<RangeResponse> =>
    new Promise((resolve, reject) =>
      client.range(
        RangeRequest.fromPartial({ key: Buffer.from('k') }),
        new Metadata(),
        { deadline: Date.now() + 5000 },
        (err: ServiceError | null, res: RangeResponse) => (err ? reject(err) : resolve(res)),
      ),
    );
  // Every member issues its reads in the same instants, so their request numbers line up.
  const results = await Promise.allSettled(clients.flatMap((client) => Array.from({ length: READS_PER_MEMBER }, () => read(client))));
  const failed = results.filter((r) => r.status === 'rejected');
  t.is(
    failed.length,
    0,
    `${failed.length} of ${results.length} reads failed; first: ${failed[0]?.status === 'rejected' ? String(failed[0].reason) : ''}`,
  );
});
