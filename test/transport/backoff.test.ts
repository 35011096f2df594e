// Reconnect backoff: doubles from the initial delay up to the cap, jitter stays within
// [base/2, base], and reset() starts over.
import test from 'ava';
import { Backoff, DEFAULT_BACKOFF } from '../../server/transport/backoff.js';

const series = (b: Backoff, n: number): number[] => Array.from({ length: n }, () => b.next());

test('defaults double from 100 ms and cap at 2 s', (t) => {
  t.deepEqual(series(new Backoff(DEFAULT_BACKOFF, () => 1), 8), [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  t.deepEqual(series(new Backoff(DEFAULT_BACKOFF, () => 0), 7), [50, 100, 200, 400, 800, 1000, 1000]);
});

test('jitter keeps every delay within [base/2, base] and never above the cap', (t) => {
  let seed = 42;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const b = new Backoff({ initialMs: 100, maxMs: 2_000 }, random);
  const delays = series(b, 200);
  delays.forEach((d, i) => {
    const base = Math.min(2_000, 100 * 2 ** i);
    t.true(d >= base / 2 && d <= base, `delay ${i}: ${d} outside [${base / 2}, ${base}]`);
  });
  t.true(new Set(delays.slice(10)).size > 100, 'delays at the cap still vary');
});

test('reset starts over from the initial delay', (t) => {
  const b = new Backoff(DEFAULT_BACKOFF, () => 1);
  series(b, 10);
  b.reset();
  t.deepEqual(series(b, 2), [100, 200]);
});
