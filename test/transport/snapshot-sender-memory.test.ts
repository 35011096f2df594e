// The leader's memory while it sends a snapshot is what grpc-js buffers before 'drain', not
// the snapshot's size: once every byte is sent and the receiver is still installing (it has
// not answered), the pieces sent are garbage. A wait on "the next piece or the end of the
// call" written as Promise.race against the call's promise kept each piece reachable until
// the answer came: the leader held the whole snapshot (issue 14).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { credentials } from '@grpc/grpc-js';
import test from 'ava';
import { RaftPeerServiceClient } from '../../gen/ts/cairn/raft/v1/raft.js';
import { MessageType } from '../../server/raft/message.js';
import { sendSnapshot } from '../../server/transport/snapshot-sender.js';
import type { SnapshotChunks } from '../../server/transport/types.js';
import { CLUSTER_ID, msg, startCluster, waitUntil } from './harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;
const PIECES = 64;

/** ArrayBuffer bytes still reachable after a full collection. */
function liveArrayBuffers(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

test('a sent snapshot is not kept in memory while the receiver installs it', async (t) => {
  let releaseReceiver!: () => void;
  const installing = new Promise<void>((resolve) => (releaseReceiver = resolve));
  let delivered = false;
  const [, b] = await startCluster(t, 2, {
    server: {
      // The receiver holds the answer, as while it installs a large snapshot.
      deliverSnapshot: async () => {
        delivered = true;
        await installing;
      },
    },
  });
  const source: SnapshotChunks = {
    totalBytes: PIECES * MiB,
    async *[Symbol.asyncIterator]() {
      // A fresh buffer per piece: each is its own ArrayBuffer, garbage once sent.
      for (let i = 0; i < PIECES; i++) yield Buffer.alloc(MiB, i);
    },
  };
  const before = liveArrayBuffers();
  const client = new RaftPeerServiceClient(b.address, credentials.createInsecure());
  t.teardown(() => client.close());
  const outcome = sendSnapshot({
    client,
    clusterId: CLUSTER_ID,
    message: msg({
      type: MessageType.Snap,
      from: 1,
      to: 2,
      term: 5,
      snapshot: { index: 10, term: 4, confState: { voters: [1, 2] }, data: new Uint8Array(0) },
    }),
    chunks: source,
    chunkBytes: MiB,
    timeoutMs: 120_000,
    signal: new AbortController().signal,
  });
  await waitUntil(() => delivered, 60_000, 'the receiver to have every byte');
  const held = liveArrayBuffers() - before;
  t.log(`${PIECES} MiB sent; the sender (and receiver, same process) hold ${(held / MiB).toFixed(1)} MiB while the receiver installs`);
  // grpc-js keeps up to 16 messages queued before 'drain' (its writable's high-water mark);
  // a leak of the pieces sent would hold all 64 MiB.
  t.true(held < 24 * MiB, `${(held / MiB).toFixed(1)} MiB of the ${PIECES} MiB sent still reachable`);
  releaseReceiver();
  t.deepEqual(await outcome, { applied: true });
});
