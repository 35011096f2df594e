/**
 * End-of-run steps on a healed cluster: wait until every lease has ended and every member
 * agrees on leader, applied index and revision; compare hashKv; read every key
 * linearizably; and read the committed history with a fresh watch from revision 1.
 */
import type { Op } from '../checker/history.js';
import type { RevEvent } from '../checker/revision-history.js';
import { WatchCreateRequest, type WatchResponse } from '../../../gen/ts/cairn/v1/watch.js';
import { isServiceError, type ClientPool } from './clients.js';
import { micros } from './workload.js';
import { KEY_RANGE, toRevEvents } from './watchers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Converged {
  readonly revision: number;
  readonly appliedIndex: number;
  readonly leader: number;
}

/** Polls status until all members report the same leader, applied index and revision twice in a row. */
export async function waitConverged(pool: ClientPool, timeoutMs: number): Promise<Converged> {
  const deadline = Date.now() + timeoutMs;
  let previous = '';
  let lastSeen = 'no answers';
  while (Date.now() < deadline) {
    const answers = await Promise.all(
      pool.names.map((n) =>
        pool
          .get(n)
          .status(1000)
          .catch(() => undefined),
      ),
    );
    if (answers.every((s) => s !== undefined)) {
      const shape = answers.map((s) => `${s.leader}/${s.raftAppliedIndex}/${s.header!.revision}`);
      lastSeen = pool.names
        .map((n, i) => `${n}: leader ${answers[i]!.leader} applied ${answers[i]!.raftAppliedIndex} rev ${answers[i]!.header!.revision}`)
        .join('; ');
      const first = answers[0]!;
      if (first.leader !== 0 && new Set(shape).size === 1) {
        if (shape[0] === previous) return { revision: first.header!.revision, appliedIndex: first.raftAppliedIndex, leader: first.leader };
        previous = shape[0]!;
      } else previous = '';
    }
    await sleep(300);
  }
  throw new Error(`members did not converge within ${timeoutMs} ms; last: ${lastSeen}`);
}

/**
 * Waits until the cluster lists no lease: once the workload stopped, nobody renews, so
 * every lease must end (expire, or have been revoked) however long the leader takes to
 * decide it; the bound only stops a stuck run. Returns the leases still listed at the bound
 * (empty when all ended) and the last error if no member answered.
 */
export async function waitLeasesEnded(pool: ClientPool, timeoutMs: number): Promise<{ left: number[]; error?: string }> {
  const deadline = Date.now() + timeoutMs;
  let left: number[] = [];
  let error: string | undefined;
  for (let i = 0; ; i++) {
    const member = pool.names[i % pool.names.length]!;
    try {
      left = (await pool.get(member).leaseLeases(2000)).leases.map((l) => l.id);
      error = undefined;
      if (left.length === 0) return { left };
    } catch (err) {
      error = `${member}: ${isServiceError(err) ? err.details : String(err)}`;
    }
    if (Date.now() >= deadline) return error === undefined ? { left } : { left, error };
    await sleep(300);
  }
}

/** hashKv at `revision` from every member; problems when they differ. */
export async function compareHashes(pool: ClientPool, revision: number): Promise<{ hashes: Record<string, string>; problems: string[] }> {
  const hashes: Record<string, string> = {};
  const problems: string[] = [];
  for (const n of pool.names) {
    try {
      const r = await pool.get(n).hashKv(revision, 15_000);
      hashes[n] = `${r.hash} (rev ${r.revision}, ${r.keys} keys)`;
    } catch (err) {
      problems.push(`hashKv on ${n} failed: ${isServiceError(err) ? err.details : String(err)}`);
    }
  }
  if (new Set(Object.values(hashes)).size > 1) problems.push(`members hash differently at revision ${revision}: ${JSON.stringify(hashes)}`);
  return { hashes, problems };
}

/** Linearizable reads of every key, recorded as ops of client -1 (appended to the history). */
export async function finalReads(pool: ClientPool, keys: readonly string[], t0: bigint, nextId: number): Promise<Op[]> {
  const ops: Op[] = [];
  const member = pool.names[0]!;
  for (const key of keys) {
    const invoke = micros(t0);
    const base = { id: nextId + ops.length, client: -1, member, call: { f: 'get' as const, key, serializable: false }, invoke };
    try {
      const r = await pool.get(member).range({ key: Buffer.from(key, 'latin1') }, 15_000);
      const kv = r.kvs[0];
      ops.push({
        ...base,
        complete: micros(t0),
        outcome: 'ok',
        result: { f: 'get', value: kv ? kv.value.toString('latin1') : null, modRevision: kv?.modRevision ?? 0 },
        revision: r.header!.revision,
      });
    } catch (err) {
      ops.push({ ...base, complete: micros(t0), outcome: 'failed', error: isServiceError(err) ? err.details : String(err) });
    }
  }
  return ops;
}

/** Every committed event on the workload keys, from revision 1 through `untilRevision`. */
export async function readCommittedHistory(
  pool: ClientPool,
  member: string,
  untilRevision: number,
  timeoutMs: number,
): Promise<RevEvent[]> {
  const stream = pool.get(member).watch.watch();
  const events: RevEvent[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `full watch on ${member} reached revision ${events.at(-1)?.revision ?? 0} of ${untilRevision} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      const done = (err?: Error): void => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      if (untilRevision <= 1) done();
      stream.on('data', (r: WatchResponse) => {
        if (r.canceled) done(new Error(`full watch canceled: ${r.cancelReason}`));
        events.push(...toRevEvents(r.events));
        if ((events.at(-1)?.revision ?? 0) >= untilRevision) done();
      });
      stream.on('error', (err: Error) => done(err));
      stream.write({
        request: { $case: 'createRequest', createRequest: WatchCreateRequest.fromPartial({ ...KEY_RANGE, startRevision: 1 }) },
      });
    });
  } finally {
    stream.cancel();
  }
  return events;
}
