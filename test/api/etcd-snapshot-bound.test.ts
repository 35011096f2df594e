// --max-snapshot-streams is one bound for the member, whichever API streams: cairn.v1's and
// etcd's Maintenance.Snapshot take their places from the same counter (a real member in
// process, real grpc-js clients of both APIs).
import test from 'ava';
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import { MaintenanceServiceClient } from '../../gen/ts/cairn/v1/maintenance.js';
import { MaintenanceClient } from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { b, errorDetails, startApiNode } from '../helpers/grpc-clients.js';

// Enough that a stream left unread cannot finish inside the transport's buffers.
const KEYS = 4000;
const VALUE_BYTES = 1024;
const MAX_STREAMS = 2;

/** Resolves with the first message, then leaves the stream unread (paused). */
function firstMessage(stream: ClientReadableStream<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('data', () => {
      stream.pause();
      resolve();
    });
  });
}

/** How a stream ends: its error, or undefined when it completes. */
function outcome(stream: ClientReadableStream<unknown>): Promise<ServiceError | undefined> {
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.once('error', (err: ServiceError) => resolve(err));
    stream.once('end', () => resolve(undefined));
  });
}

const BOUND_MESSAGE = `(--max-snapshot-streams ${MAX_STREAMS})`;

test('one --max-snapshot-streams bound across the cairn.v1 and etcd Snapshot streams, with one error', async (t) => {
  const { address, kv } = await startApiNode(t, 'rocksdb', { limits: { maxSnapshotStreams: MAX_STREAMS } });
  for (let start = 0; start < KEYS; start += 100) {
    const puts = Array.from({ length: 100 }, (_, i) => ({
      request: { $case: 'requestPut' as const, requestPut: { key: b(`s/${start + i}`), value: randomBytes(VALUE_BYTES) } },
    }));
    await kv.txn({ success: puts });
  }
  const cairn = new MaintenanceServiceClient(address, credentials.createInsecure());
  const etcd = new MaintenanceClient(address, credentials.createInsecure());
  t.teardown(() => {
    cairn.close();
    etcd.close();
  });

  // One stream of each API, both open and unread: the member's two places are taken.
  const cairnStream = cairn.snapshot({}, new Metadata());
  const etcdStream = etcd.snapshot({}, new Metadata());
  await Promise.all([firstMessage(cairnStream), firstMessage(etcdStream)]);

  // A third is refused by either API, with the same error (each API's own status shape).
  const cairnRefusal = await outcome(cairn.snapshot({}, new Metadata()));
  t.is(cairnRefusal?.code, status.RESOURCE_EXHAUSTED);
  t.is(cairnRefusal && errorDetails(cairnRefusal)?.info?.code, ErrorCode.ERROR_CODE_TOO_MANY_SNAPSHOTS);
  t.true(cairnRefusal?.details.includes(BOUND_MESSAGE), cairnRefusal?.details);
  const etcdRefusal = await outcome(etcd.snapshot({}, new Metadata()));
  t.is(etcdRefusal?.code, status.RESOURCE_EXHAUSTED);
  t.is(etcdRefusal?.details, cairnRefusal?.details);

  // Cancelling the etcd stream frees a place that a cairn.v1 stream then takes (the cancel
  // reaches the member asynchronously: refusals until then are the bound, still holding).
  etcdStream.cancel();
  let completed = false;
  while (!completed) {
    const err = await outcome(cairn.snapshot({}, new Metadata()));
    if (err === undefined) completed = true;
    else t.is(err.code, status.RESOURCE_EXHAUSTED, err.details);
  }
  // The first stream still held its place all along; it completes once read.
  const first = outcome(cairnStream);
  cairnStream.resume();
  t.is(await first, undefined);
});
