/**
 * The queue under a lock or election name (etcd's concurrency layout, shared by every SDK
 * and the CLI; see docs/recipes.md): each contender owns `<name>/<lease hex>`, its place is
 * that key's create revision, and the contender with the lowest one is first. A waiter
 * watches only the key just before its own, so a release wakes one waiter, not a herd.
 */
import { status } from '@grpc/grpc-js';
import type { Bytes } from './bytes.js';
import { CairnError } from './errors.js';
import type { KeyValue } from './kv-types.js';
import type { Session } from './session.js';
import { Compare, Op } from './txn.js';

export interface QueuePlace {
  key: string;
  /** The create revision of the own key: its place in the queue, and the fencing token. */
  revision: bigint;
  /** The own key as it was, when it existed before (the session queued already). */
  existing: KeyValue | undefined;
}

/** The own key of a session in the queue `name`. */
export function queueKey(session: Session, name: string): string {
  return `${name}/${session.leaseHex}`;
}

/** Joins the queue (or finds the place the session already has). */
export async function enqueue(session: Session, name: string, value: Bytes): Promise<QueuePlace> {
  const key = queueKey(session, name);
  // Safe to repeat: a retry after an unknown outcome finds the key it created.
  const r = await session.client
    .txn()
    .if(Compare.createRevision(key, '==', 0))
    .then(Op.put(key, value, { lease: session.leaseId }))
    .else(Op.get(key))
    .commit({ retryUnsafe: true });
  if (r.succeeded) return { key, revision: r.revision, existing: undefined };
  const first = r.results[0];
  const existing = first?.type === 'get' ? first.get.kvs[0] : undefined;
  if (existing === undefined) throw new Error(`the server answered a failed create of ${key} without the key`);
  return { key, revision: existing.createRevision, existing };
}

/** The first key of the queue (the holder or leader), if any. */
export async function queueHead(session: Session, name: string): Promise<KeyValue | undefined> {
  const r = await session.client.range({ prefix: `${name}/` }, { sortBy: 'create', sortOrder: 'ascend', limit: 1 });
  return r.kvs[0];
}

/**
 * Resolves when no key with a lower create revision than `place` is left: the place is
 * first. Rejects when `signal` aborts, or when the own key vanished (its lease expired).
 */
export async function waitForTurn(session: Session, name: string, place: QueuePlace, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) throw abortedError(session, signal);
    const r = await session.client.range({ prefix: `${name}/` }, { keysOnly: true });
    if (!r.kvs.some((kv) => kv.createRevision === place.revision)) {
      throw new CairnError({ code: status.ABORTED, message: `${place.key} is gone (its lease ended): the place in the queue is lost` });
    }
    let before: KeyValue | undefined;
    for (const kv of r.kvs)
      if (kv.createRevision < place.revision && (before === undefined || kv.createRevision > before.createRevision)) before = kv;
    if (before === undefined) return;
    await waitForDelete(session, before.key, r.revision + 1n, signal);
  }
}

/** Resolves once `key` is deleted at or after `fromRevision`. */
async function waitForDelete(session: Session, key: Buffer, fromRevision: bigint, signal: AbortSignal): Promise<void> {
  for await (const batch of session.client.watch(key, { startRevision: fromRevision, signal })) {
    if (batch.events.some((e) => e.type === 'delete')) return;
  }
  // The watch ends without an error only when it was cancelled.
  throw abortedError(session, signal);
}

function abortedError(session: Session, signal: AbortSignal): CairnError {
  if (session.signal.aborted) return session.endedError();
  const reason: unknown = signal.reason;
  return new CairnError({ code: status.CANCELLED, message: 'the wait was cancelled', cause: reason });
}

/** The caller's signal and the session's: a wait ends when either does. */
export function waitSignal(session: Session, signal: AbortSignal | undefined): AbortSignal {
  return signal === undefined ? session.signal : AbortSignal.any([session.signal, signal]);
}
