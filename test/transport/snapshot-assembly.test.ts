// The two ends of a snapshot's data path, without the network: the sender re-cuts whatever
// the state machine yields into bounded chunks; the receiver reassembles them within its
// size limit and notices truncation.
import test from 'ava';
import { rechunk } from '../../server/transport/chunks.js';
import { TransportError, TransportErrorCode } from '../../server/transport/errors.js';
import { SnapshotAssembly } from '../../server/transport/snapshot-assembly.js';

async function* pieces(sizes: number[]): AsyncGenerator<Uint8Array> {
  let n = 0;
  for (const size of sizes) {
    yield Uint8Array.from({ length: size }, () => n++ & 0xff);
  }
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(b);
  return out;
}

const expected = (n: number): Buffer => Buffer.from(Uint8Array.from({ length: n }, (_, i) => i & 0xff));

test('rechunk cuts any piece sizes into full chunks plus a shorter tail, bytes unchanged', async (t) => {
  const sizes = [1, 999, 5000, 0, 3, 4096, 12_000, 7];
  const total = sizes.reduce((a, b) => a + b, 0);
  const chunks = await collect(rechunk(pieces(sizes), 4096));
  t.deepEqual(
    chunks.map((c) => c.byteLength),
    [4096, 4096, 4096, 4096, 4096, total - 5 * 4096],
  );
  t.true(Buffer.concat(chunks).equals(expected(total)));
  t.deepEqual(await collect(rechunk(pieces([8192]), 4096)).then((c) => c.map((x) => x.byteLength)), [4096, 4096]);
  t.deepEqual(await collect(rechunk(pieces([]), 4096)), []);
});

test('rechunk copies, so a source that reuses its buffer cannot corrupt earlier chunks', async (t) => {
  const shared = new Uint8Array(10);
  async function* reusing(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 5; i++) {
      shared.fill(i);
      yield shared;
    }
  }
  const chunks = await collect(rechunk(reusing(), 15));
  t.deepEqual(Buffer.concat(chunks), Buffer.concat([0, 1, 2, 3, 4].map((i) => Buffer.alloc(10, i))));
});

test('assembly with an announced size: fills in place, refuses oversize up front, checks the end marker', (t) => {
  const a = new SnapshotAssembly(10, 100, 'snap');
  a.add(Buffer.from([0, 1, 2, 3]));
  a.add(Buffer.from([4, 5, 6, 7, 8, 9]));
  a.seal(10);
  t.deepEqual(a.finish(), expected(10));

  const big = t.throws(() => new SnapshotAssembly(101, 100, 'snap'), { instanceOf: TransportError });
  t.is(big?.code, TransportErrorCode.SnapshotTooLarge);
  t.regex(big?.message ?? '', /announced 101 bytes; the limit is 100 bytes/);

  const short = new SnapshotAssembly(10, 100, 'snap');
  short.add(Buffer.alloc(4));
  t.regex(t.throws(() => short.seal(10), { instanceOf: TransportError })?.message ?? '', /sent 10 bytes but 4 arrived/);

  const long = new SnapshotAssembly(4, 100, 'snap');
  t.is(t.throws(() => long.add(Buffer.alloc(5)), { instanceOf: TransportError })?.code, TransportErrorCode.MalformedSnapshot);
});

test('assembly of unknown size: joins the pieces and refuses once the limit is passed', (t) => {
  const a = new SnapshotAssembly(0, 100, 'snap');
  a.add(expected(6).subarray(0, 3));
  a.add(expected(6).subarray(3));
  a.seal(6);
  t.deepEqual(a.finish(), expected(6));
  const empty = new SnapshotAssembly(0, 100, 'snap');
  empty.seal(0);
  t.deepEqual(empty.finish(), Buffer.alloc(0));

  const b = new SnapshotAssembly(0, 100, 'snap');
  b.add(Buffer.alloc(100));
  const err = t.throws(() => b.add(Buffer.alloc(1)), { instanceOf: TransportError });
  t.is(err?.code, TransportErrorCode.SnapshotTooLarge);
});

test('without the end marker a transfer is never complete, whatever its size', (t) => {
  for (const announced of [0, 10]) {
    const a = new SnapshotAssembly(announced, 100, 'snap');
    a.add(Buffer.alloc(10));
    const err = t.throws(() => a.finish(), { instanceOf: TransportError });
    t.is(err?.code, TransportErrorCode.MalformedSnapshot);
    t.regex(err?.message ?? '', /without its end marker after 10 bytes/);
  }
  const sealed = new SnapshotAssembly(0, 100, 'snap');
  sealed.seal(0);
  t.throws(() => sealed.add(Buffer.alloc(1)), { message: /data after the end marker/ });
  t.throws(() => sealed.seal(0), { message: /a second end marker/ });
});
