import test from 'ava';
import type { Call, Result } from './history.js';
import { builder, type HistoryBuilder } from './history-builder.js';
import { checkLeases } from './lease-check.js';
import { checkAgainstRevisions, RevisionHistory, type RevEvent } from './revision-history.js';

const ev = (revision: number, key: string, value: string | null): RevEvent => ({ revision, key, value });
const grant = (lease: number): Call => ({ f: 'grant', lease, ttl: 2 });
const lput = (key: string, value: string, lease: number): Call => ({ f: 'lput', key, value, lease });
const revoke = (lease: number): Call => ({ f: 'revoke', lease });
const get = (key: string, serializable = false): Call => ({ f: 'get', key, serializable });
const got = (value: string | null): Result => ({ f: 'get', value, modRevision: 0 });
const LPUT: Result = { f: 'lput' };
const REVOKED: Result = { f: 'revoke' };

const mput4: Call = {
  f: 'mput',
  kvs: [
    ['kl2', 'h'],
    ['kl3', 'i'],
  ],
  lease: 4,
};

/**
 * Lease 1 holds kl0=a and kl1=b and expires at revision 4 (both deleted there); kl0 is then
 * put with no lease; lease 2 gets kl1=d, which a later put moves off it (kl1=e, no lease), so
 * lease 2's revoke deletes nothing; lease 3 gets kl2=g and is revoked at revision 9.
 */
function goodRun(): { h: HistoryBuilder; rh: RevisionHistory } {
  const h = builder();
  h.op(0, grant(1), 0, 1, 'ok', { f: 'grant', ttl: 2 });
  h.op(0, lput('kl0', 'a', 1), 2, 3, 'ok', LPUT, 2);
  h.op(1, lput('kl1', 'b', 1), 2, 4, 'ok', LPUT, 3);
  h.op(1, get('kl0'), 5, 6, 'ok', got('a'), 3);
  h.op(2, get('kl1', true), 7, 8, 'ok', got('b'), 3);
  h.op(1, { f: 'keepalive', lease: 1 }, 8, 9, 'ok', { f: 'keepalive', ttl: 0, headerRevision: 3 });
  h.op(1, get('kl0'), 10, 11, 'ok', got(null), 4); // expired: decided by the leader, no client op
  h.op(0, lput('kl0', 'c', 0), 12, 13, 'ok', LPUT, 5);
  h.op(0, lput('kl1', 'x', 1), 12, 13, 'failed', undefined); // NOT_FOUND: the lease is gone
  h.op(2, grant(2), 14, 15, 'ok', { f: 'grant', ttl: 2 });
  h.op(2, lput('kl1', 'd', 2), 16, 17, 'ok', LPUT, 6);
  h.op(2, lput('kl1', 'e', 0), 18, 19, 'ok', LPUT, 7);
  h.op(2, revoke(2), 20, 21, 'ok', REVOKED, 7); // nothing attached any more: no new revision
  h.op(1, get('kl1'), 22, 23, 'ok', got('e'), 7);
  h.op(3, grant(3), 24, 25, 'unknown'); // timed out, but applied
  h.op(3, lput('kl2', 'g', 3), 26, 27, 'ok', LPUT, 8);
  h.op(3, lput('kl2', 'u', 3), 28, 29, 'unknown'); // never applied
  h.op(3, revoke(3), 30, 31, 'ok', REVOKED, 9);
  h.op(3, revoke(3), 32, 33, 'unknown');
  h.op(1, get('kl2'), 34, 35, 'ok', got(null), 9);
  // Lease 4 gets two keys in one transaction; its expiry deletes both at revision 11.
  h.op(0, mput4, 36, 37, 'ok', { f: 'mput' }, 10);
  h.op(1, get('kl3'), 38, 39, 'ok', got('i'), 10);
  h.op(1, get('kl3'), 40, 41, 'ok', got(null), 11);
  const rh = new RevisionHistory([
    ev(2, 'kl0', 'a'),
    ev(3, 'kl1', 'b'),
    ev(4, 'kl0', null),
    ev(4, 'kl1', null),
    ev(5, 'kl0', 'c'),
    ev(6, 'kl1', 'd'),
    ev(7, 'kl1', 'e'),
    ev(8, 'kl2', 'g'),
    ev(9, 'kl2', null),
    ev(10, 'kl2', 'h'),
    ev(10, 'kl3', 'i'),
    ev(11, 'kl2', null),
    ev(11, 'kl3', null),
  ]);
  return { h, rh };
}

test('accepts expiries and revokes that delete each lease’s keys at one revision, and keys that move between leases', (t) => {
  const { h, rh } = goodRun();
  t.deepEqual(checkLeases(h.ops, rh, { allLeasesEnded: true }), []);
  t.deepEqual(checkAgainstRevisions(h.ops, rh), []);
});

test('rejects a lease whose keys disappear at two revisions', (t) => {
  const h = builder();
  h.op(0, lput('kl0', 'a', 1), 0, 1, 'ok', LPUT, 2);
  h.op(0, lput('kl1', 'b', 1), 2, 3, 'ok', LPUT, 3);
  const rh = new RevisionHistory([ev(2, 'kl0', 'a'), ev(3, 'kl1', 'b'), ev(4, 'kl0', null), ev(5, 'kl1', null)]);
  const problems = checkLeases(h.ops, rh, { allLeasesEnded: true }).join('\n');
  t.regex(problems, /lease 1 ended at revision 4 deleting kl0, but its keys kl1=b were left/);
  t.regex(problems, /keys of lease 1 were deleted at two revisions, 4 and 5/);
});

test('rejects a two-key lease put whose keys end at two revisions', (t) => {
  const h = builder();
  h.op(0, mput4, 0, 1, 'ok', { f: 'mput' }, 2);
  const rh = new RevisionHistory([ev(2, 'kl2', 'h'), ev(2, 'kl3', 'i'), ev(3, 'kl3', null), ev(4, 'kl2', null)]);
  const problems = checkLeases(h.ops, rh, { allLeasesEnded: true }).join('\n');
  t.regex(problems, /lease 4 ended at revision 3 deleting kl3, but its keys kl2=h were left/);
});

test('rejects a read at or after the expiry’s revision that still returns the lease’s key', (t) => {
  const h = builder();
  h.op(0, lput('kl0', 'a', 1), 0, 1, 'ok', LPUT, 2);
  h.op(1, get('kl0', true), 2, 3, 'ok', got('a'), 4); // serializable, at the expiry's revision
  h.op(2, get('kl0'), 4, 5, 'ok', got('a'), 5); // linearizable, after it
  const rh = new RevisionHistory([ev(2, 'kl0', 'a'), ev(3, 'k0', 'z'), ev(4, 'kl0', null), ev(5, 'k0', 'y')]);
  const problems = checkLeases(h.ops, rh, { allLeasesEnded: true });
  t.is(problems.length, 2, problems.join('\n'));
  t.regex(problems[0]!, /a read at revision 4 returned a key of lease 1, dead from revision 4/);
  t.regex(problems[1]!, /a read at revision 5 returned a key of lease 1/);
});

test('rejects a key left behind at the revision of an acknowledged revoke', (t) => {
  const h = builder();
  h.op(0, lput('kl0', 'a', 1), 0, 1, 'ok', LPUT, 2);
  h.op(0, revoke(1), 2, 3, 'ok', REVOKED, 3);
  const rh = new RevisionHistory([ev(2, 'kl0', 'a'), ev(3, 'k0', 'z'), ev(4, 'kl0', null)]);
  t.regex(checkLeases(h.ops, rh, { allLeasesEnded: true }).join(), /lease 1 was revoked at revision 3, yet kl0=a is attached to it there/);
});

test('rejects a linearizable read or a put that sees a lease after its revoke answered', (t) => {
  const h = builder();
  h.op(0, lput('kl0', 'a', 1), 0, 1, 'ok', LPUT, 2);
  h.op(0, revoke(1), 2, 3, 'ok', REVOKED, 3);
  // A stale linearizable read: its revision (2) is before the revoke's, only real time shows it.
  h.op(1, get('kl0'), 4, 5, 'ok', got('a'), 2);
  h.op(2, lput('kl1', 'b', 1), 6, 7, 'ok', LPUT, 4);
  const rh = new RevisionHistory([ev(2, 'kl0', 'a'), ev(3, 'kl0', null), ev(4, 'kl1', 'b')]);
  const problems = checkLeases(h.ops, rh, { allLeasesEnded: false }).join('\n');
  t.regex(problems, /kl1=b attached to lease 1 at revision 4, but the lease was dead from revision 3/);
  t.regex(problems, /a linearizable read saw a key of lease 1 after its revoke answered/);
  t.regex(problems, /a put attached a key to lease 1 after its revoke answered/);
});

test('rejects a key still attached when every lease has ended, and a lease key deleted while attached to none', (t) => {
  const h = builder();
  h.op(0, lput('kl0', 'a', 1), 0, 1, 'ok', LPUT, 2);
  h.op(0, lput('kl1', 'b', 0), 2, 3, 'ok', LPUT, 3);
  const rh = new RevisionHistory([ev(2, 'kl0', 'a'), ev(3, 'kl1', 'b'), ev(4, 'kl1', null)]);
  t.deepEqual(checkLeases(h.ops, new RevisionHistory(rh.events.slice(0, 2)), { allLeasesEnded: false }), []);
  const problems = checkLeases(h.ops, rh, { allLeasesEnded: true }).join('\n');
  t.regex(problems, /kl1 was deleted at revision 4, but no client deletes lease keys and it was attached to no lease/);
  t.regex(problems, /every lease has ended, yet kl0=a is still attached to lease 1 at the final revision 4/);
});
