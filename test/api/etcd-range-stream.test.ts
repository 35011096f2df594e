// etcd's KV.RangeStream on a real member, through a grpc-js client generated from etcd's
// protos: chunks cut as etcd 3.7.3 cuts them, header/more/count on the last chunk only, the
// merged result equal to Range's, pages kept near --max-request-bytes, the revision pinned
// to the first page's while writes go on, and what RangeStream refuses.
import { status } from '@grpc/grpc-js';
import test from 'ava';
import {
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RangeResponse,
  type RangeStreamResponse,
} from '../../gen/ts/etcd/api/etcdserverpb/rpc.js';
import { EtcdClients } from '../helpers/etcd-clients.js';
import { b, grpcError, s, startApiNode } from '../helpers/grpc-clients.js';

const keyOf = (i: number): Buffer => b(`k/${String(i).padStart(3, '0')}`);

/** Puts keys 0..n-1 with the value, `batch` to a txn (so a txn stays under the member's request limit). */
async function putKeys(etcd: EtcdClients, n: number, value: Buffer, batch = 50): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    const ops = [];
    for (let j = i; j < Math.min(n, i + batch); j++)
      ops.push({ request: { $case: 'requestPut' as const, requestPut: { key: keyOf(j), value } } });
    await etcd.txn({ success: ops });
  }
}

const shape = (chunks: RangeResponse[]): string[] => chunks.map((c) => `${c.kvs.length}${c.header === undefined ? '' : '+header'}`);

test('chunks as etcd cuts them; the last carries header, more and count; merged, Range', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  await putKeys(etcd, 45, b('v'));
  const all = { key: b('k/'), rangeEnd: b('k0') };

  const chunks = await etcd.rangeStream(all);
  t.deepEqual(shape(chunks), ['10', '20', '15+header'], 'from 10 keys, doubled while small');
  const range = await etcd.range(all);
  const last = chunks.at(-1)!;
  t.deepEqual(
    chunks.flatMap((c) => c.kvs),
    range.kvs,
  );
  t.deepEqual(last.header, range.header);
  t.is(last.count, 45);
  t.false(last.more);
  t.true(chunks.slice(0, -1).every((c) => !c.more && c.count === 0));

  const limited = await etcd.rangeStream({ ...all, limit: 25 });
  t.deepEqual(shape(limited), ['10', '15+header']);
  t.true(limited.at(-1)!.more);
  t.is(limited.at(-1)!.count, 45, 'count: every key in the range, as Range gives it');

  const counted = await etcd.rangeStream({ ...all, countOnly: true });
  t.deepEqual(shape(counted), ['0+header']);
  t.is(counted[0]!.count, 45);

  const none = await etcd.rangeStream({ key: b('nothing/'), rangeEnd: b('nothing0') });
  t.deepEqual(shape(none), ['0+header']);
  t.is(none[0]!.header!.revision, range.header!.revision);
});

test('pages stay near --max-request-bytes however many keys the range has', async (t) => {
  const maxRequestBytes = 4096;
  const n = await startApiNode(t, 'rocksdb', { limits: { maxRequestBytes } });
  const etcd = new EtcdClients(t, n.address);
  await putKeys(etcd, 120, Buffer.alloc(1000, 'v'), 3);
  const chunks = await etcd.rangeStream({ key: b('k/'), rangeEnd: b('k0') });
  t.is(
    chunks.reduce((sum, c) => sum + c.kvs.length, 0),
    120,
  );
  // 10 keys of 1 KB are over twice the target: halved to 5, which stays (between half and twice).
  t.deepEqual(shape(chunks).slice(0, 3), ['10', '5', '5']);
  const bytes = (c: RangeResponse): number => c.kvs.reduce((sum, kv) => sum + kv.key.length + kv.value.length, 0);
  t.true(
    chunks.slice(1).every((c) => bytes(c) <= 2 * maxRequestBytes),
    'after the first, no page over twice the target',
  );
});

test('every page is read at the first page revision, whatever is written meanwhile', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  // 800 KB in pages of 10, 20, 40, 80 and 50 keys: while the client reads nothing, HTTP/2
  // flow control holds the member after a page or two, so later pages are read after the writes.
  const keys = 200;
  await putKeys(etcd, keys, Buffer.alloc(4000, 'o'));
  const before = (await etcd.range({ key: b('k/'), rangeEnd: b('k0'), countOnly: true })).header!.revision;
  const stream = etcd.kv.rangeStream(RangeRequest.fromPartial({ key: b('k/'), rangeEnd: b('k0') }));
  const chunks: RangeResponse[] = [];
  let writes: Promise<void> | undefined;
  let writtenBeforeEnd = false;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: RangeStreamResponse) => {
      chunks.push(chunk.rangeResponse!);
      writes ??= (async () => {
        stream.pause();
        await putKeys(etcd, keys, Buffer.alloc(4000, 'n'));
        writtenBeforeEnd = true;
        stream.resume();
      })();
    });
    stream.on('error', reject);
    stream.on('end', resolve);
  });
  await writes;
  t.true(writtenBeforeEnd, 'the writes landed while the stream was open');
  t.deepEqual(shape(chunks), ['10', '20', '40', '80', '50+header']);
  t.deepEqual([...new Set(chunks.flatMap((c) => c.kvs.map((kv) => s(kv.value).slice(0, 1))))], ['o'], 'every page at the pinned revision');
  t.is(chunks.at(-1)!.header!.revision, before);
  t.is(s((await etcd.range({ key: keyOf(keys - 1) })).kvs[0]!.value).slice(0, 1), 'n');
});

test('refused as etcd refuses: other orders, revision filters, an empty key, a compacted revision', async (t) => {
  const n = await startApiNode(t, 'rocksdb');
  const etcd = new EtcdClients(t, n.address);
  await putKeys(etcd, 3, b('v'));
  const last = (await etcd.put({ key: keyOf(0), value: b('w') })).header!.revision;
  const all = { key: b('k/'), rangeEnd: b('k0') };
  const sorted = await grpcError(
    etcd.rangeStream({ ...all, sortOrder: RangeRequest_SortOrder.DESCEND, sortTarget: RangeRequest_SortTarget.CREATE }),
  );
  t.is(sorted.code, status.UNIMPLEMENTED);
  t.is(sorted.details, 'RangeStream does not support custom sort orders');
  const byKey = await etcd.rangeStream({ ...all, sortOrder: RangeRequest_SortOrder.ASCEND, sortTarget: RangeRequest_SortTarget.KEY });
  t.is(byKey.at(-1)!.count, 3, 'by key ascending is the default order: allowed');
  const filtered = await grpcError(etcd.rangeStream({ ...all, minModRevision: 1 }));
  t.is(filtered.code, status.UNIMPLEMENTED);
  t.is(filtered.details, 'RangeStream does not support revision filters');
  const empty = await grpcError(etcd.rangeStream({ key: Buffer.alloc(0) }));
  t.is(empty.details, 'etcdserver: key is not provided');
  await etcd.compact({ revision: last, physical: true });
  const compacted = await grpcError(etcd.rangeStream({ ...all, revision: last - 1 }));
  t.is(compacted.code, status.OUT_OF_RANGE);
  t.is(compacted.details, 'etcdserver: mvcc: required revision has been compacted');
});
