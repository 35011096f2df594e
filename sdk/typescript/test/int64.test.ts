/** Arguments that are 64-bit on the wire: bigints pass through, numbers only when exact. */
import test from 'ava';
import { toBigInt } from '../src/int64.js';
import { Compare } from '../src/index.js';

test('a bigint passes through whole, a safe-integer number becomes a bigint', (t) => {
  t.is(toBigInt(2n ** 63n - 1n, 'revision'), 2n ** 63n - 1n);
  t.is(toBigInt(Number.MAX_SAFE_INTEGER, 'revision'), 9007199254740991n);
  t.is(toBigInt(0, 'lease'), 0n);
});

test('a number past 2^53 or with a fraction is refused rather than sent rounded', (t) => {
  t.throws(() => toBigInt(2 ** 53, 'revision'), {
    instanceOf: RangeError,
    message: /revision 9007199254740992 is not a safe integer: pass it as a bigint/,
  });
  t.throws(() => toBigInt(1.5, 'revision'), { instanceOf: RangeError });
  t.throws(() => Compare.modRevision('k', '==', 2 ** 60), { instanceOf: RangeError });
  t.notThrows(() => Compare.modRevision('k', '==', 2n ** 60n));
});
