// Maintenance.Snapshot against a real member (in process) on each engine: one revision,
// read at the client's pace, a bounded number of streams at once.
import test from 'ava';
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import { MaintenanceServiceClient, type SnapshotResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { backupStatus } from '../../server/backup/backup-status.js';
import { b, ENGINE_NAMES, errorDetails, startApiNode } from '../helpers/grpc-clients.js';

const KEYS = 4000;
const VALUE_BYTES = 1024;

/** The next message of a stream that is otherwise left unread (paused). */
function firstMessage(stream: ClientReadableStream<SnapshotResponse>): Promise<SnapshotResponse> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('data', (res: SnapshotResponse) => {
      stream.pause();
      resolve(res);
    });
  });
}

/** Resumes a paused stream and collects the rest. */
function rest(stream: ClientReadableStream<SnapshotResponse>): Promise<SnapshotResponse[]> {
  return new Promise((resolve, reject) => {
    const out: SnapshotResponse[] = [];
    stream.on('data', (res: SnapshotResponse) => out.push(res));
    stream.once('error', reject);
    stream.once('end', () => resolve(out));
    stream.resume();
  });
}

function refusal(stream: ClientReadableStream<SnapshotResponse>): Promise<ServiceError | undefined> {
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.once('error', (err: ServiceError) => resolve(err));
    stream.once('end', () => resolve(undefined));
  });
}

for (const engine of ENGINE_NAMES) {
  test(`${engine}: a paused snapshot holds one revision, later writes are not in it, and streams are bounded`, async (t) => {
    const { address, kv } = await startApiNode(t, engine, { limits: { maxSnapshotStreams: 2 } });
    for (let start = 0; start < KEYS; start += 100) {
      const puts = Array.from({ length: 100 }, (_, i) => ({
        request: { $case: 'requestPut' as const, requestPut: { key: b(`s/${start + i}`), value: randomBytes(VALUE_BYTES) } },
      }));
      await kv.txn({ success: puts });
    }
    const before = await kv.revision();
    const client = new MaintenanceServiceClient(address, credentials.createInsecure());
    t.teardown(() => client.close());
    const first = client.snapshot({}, new Metadata());
    const second = client.snapshot({}, new Metadata());
    const head = await firstMessage(first);
    await firstMessage(second);
    t.is(head.header?.revision, before);
    t.not(head.version, '');
    t.true(head.estimatedBytes >= 0);

    // Both streams are open and unread: the member refuses a third rather than queue it.
    const err = await refusal(client.snapshot({}, new Metadata()));
    t.is(err?.code, status.RESOURCE_EXHAUSTED);
    t.is(err && errorDetails(err)?.info?.code, ErrorCode.ERROR_CODE_TOO_MANY_SNAPSHOTS);

    // Writes go on while the snapshots wait for their readers, and are not in them.
    const late = await kv.set('s/late', 'written after the snapshot began');
    t.true(late.header!.revision > before);

    // A cancelled stream frees its place.
    second.cancel();
    let accepted: SnapshotResponse[] | undefined;
    const deadline = Date.now() + 30_000;
    while (accepted === undefined && Date.now() < deadline) {
      const third = client.snapshot({}, new Metadata());
      const outcome = await firstMessage(third).then(
        (m) => ({ m }),
        (e: ServiceError) => ({ e }),
      );
      if ('m' in outcome) accepted = [outcome.m, ...(await rest(third))];
      else t.is(outcome.e.code, status.RESOURCE_EXHAUSTED);
    }
    t.truthy(accepted, 'a stream is accepted once another was cancelled');
    t.is(accepted!.at(-1)!.revision, late.header!.revision);

    const blobs = [head, ...(await rest(first))];
    const dir = await mkdtemp(join(tmpdir(), 'cairn-snap-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'paused.snap');
    await writeFile(file, Buffer.concat(blobs.map((r) => r.blob)));
    const summary = await backupStatus(file);
    t.is(blobs.at(-1)!.revision, before, 'the last message names the revision');
    t.is(summary.revision, before);
    t.is(summary.keys, KEYS, 'the key written later is not in the snapshot');
    t.true(blobs.length > 2, `the store came in ${blobs.length} pieces, not one`);
  });
}
