// prefixEnd, the one range_end for a prefix that the member's services and the CLI share
// (etcd's GetPrefixRangeEnd), and the range it makes as toKeyRange reads it.
import test from 'ava';
import { prefixEnd, rangeContains, toKeyRange } from '../../server/mvcc/key-range.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

test('prefixEnd increments the last byte below 0xff and drops what follows', (t) => {
  t.deepEqual(prefixEnd(Buffer.from('a/')), Buffer.from('a0'));
  t.deepEqual(prefixEnd(Buffer.from('app/')), Buffer.from('app0'));
  t.deepEqual(prefixEnd(bytes(0x61, 0xff)), bytes(0x62));
  t.deepEqual(prefixEnd(bytes(0x00)), bytes(0x01));
  t.deepEqual(prefixEnd(bytes(0x61, 0xff, 0xff)), bytes(0x62));
});

test('prefixEnd of an empty or all-0xff prefix is "\\0": every key from the prefix on', (t) => {
  t.deepEqual(prefixEnd(Buffer.alloc(0)), bytes(0));
  t.deepEqual(prefixEnd(bytes(0xff)), bytes(0));
  t.deepEqual(prefixEnd(bytes(0xff, 0xff)), bytes(0));
  t.deepEqual(toKeyRange(bytes(0xff), prefixEnd(bytes(0xff))), { start: '\xff', end: '' });
});

test('prefixEnd leaves the prefix unchanged', (t) => {
  const prefix = bytes(0x61, 0xff);
  prefixEnd(prefix);
  t.deepEqual(prefix, bytes(0x61, 0xff));
});

test('the range [prefix, prefixEnd(prefix)) holds exactly the keys that start with the prefix', (t) => {
  const keys = ['', 'a', 'a\xff', 'a\xff\xff', 'a\xff\xff\x00', 'b', 'b\x00', 'ab', '\xff', '\xff\xff'];
  for (const p of ['a', 'a\xff', 'b', '\xff']) {
    const prefix = Buffer.from(p, 'latin1');
    const range = toKeyRange(prefix, prefixEnd(prefix));
    for (const key of keys) t.is(rangeContains(range, key), key.startsWith(p), `prefix ${JSON.stringify(p)}, key ${JSON.stringify(key)}`);
  }
});
