/**
 * The queue behind `cairn lock` and `cairn elect`, in etcd's concurrency layout (the SDKs
 * use the same one, so a CLI lock and an SDK mutex of the same name exclude each other;
 * see docs/recipes.md): each contender owns `<name>/<lease hex>`, its place is the key's
 * create revision, and the lowest create revision holds the lock (or leads). A waiter
 * watches only the key just before its own until it is deleted, then looks again.
 */
import { status } from '@grpc/grpc-js';
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  TxnRequest,
} from '../../gen/ts/cairn/v1/kv.js';
import { WatchCreateRequest } from '../../gen/ts/cairn/v1/watch.js';
import { Event_EventType, type Event, type KeyValue } from '../../gen/ts/cairn/v1/types.js';
import type { CliClient } from './client.js';
import { CliError, isServiceError, serviceError } from './errors.js';
import { prefixEnd } from './keys.js';

export interface QueuePlace {
  key: Buffer;
  /** The own key's create revision: the place in the queue and the fencing token. */
  revision: number;
}

function queuePrefix(name: string): Buffer {
  return Buffer.from(`${name}/`, 'utf8');
}

/** Joins the queue `name` with the session's key and `value` (or finds the key it has). */
export async function enqueue(client: CliClient, name: string, leaseId: number, value: Buffer): Promise<QueuePlace> {
  const key = Buffer.from(`${name}/${leaseId.toString(16)}`, 'utf8');
  const res = await client.txn(
    TxnRequest.fromPartial({
      compare: [
        {
          key,
          result: Compare_CompareResult.COMPARE_RESULT_EQUAL,
          target: Compare_CompareTarget.COMPARE_TARGET_CREATE,
          targetUnion: { $case: 'createRevision', createRevision: 0 },
        },
      ],
      success: [{ request: { $case: 'requestPut', requestPut: { key, value, lease: leaseId } } }],
      failure: [{ request: { $case: 'requestRange', requestRange: { key } } }],
    }),
  );
  if (res.succeeded) return { key, revision: res.header?.revision ?? 0 };
  const op = res.responses[0]?.response;
  const existing = op?.$case === 'responseRange' ? op.responseRange.kvs[0] : undefined;
  if (existing === undefined) throw new CliError(`the server answered a failed create of ${key.toString()} without the key`);
  return { key, revision: existing.createRevision };
}

/** Every key of the queue, and the revision they were read at. */
export async function queueKeys(client: CliClient, name: string): Promise<{ kvs: KeyValue[]; revision: number }> {
  const prefix = queuePrefix(name);
  const res = await client.range(
    RangeRequest.fromPartial({
      key: prefix,
      rangeEnd: prefixEnd(prefix),
      sortTarget: RangeRequest_SortTarget.SORT_TARGET_CREATE,
      sortOrder: RangeRequest_SortOrder.SORT_ORDER_ASCEND,
    }),
  );
  return { kvs: res.kvs, revision: res.header?.revision ?? 0 };
}

/** The queue's first key (the holder or leader), if any. */
export async function queueHead(client: CliClient, name: string): Promise<{ head: KeyValue | undefined; revision: number }> {
  const { kvs, revision } = await queueKeys(client, name);
  return { head: kvs[0], revision };
}

/** Resolves once no key with a lower create revision than `place` is left. */
export async function waitForTurn(client: CliClient, name: string, place: QueuePlace, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) throw aborted(signal);
    const { kvs, revision } = await queueKeys(client, name);
    if (!kvs.some((kv) => kv.createRevision === place.revision)) {
      throw new CliError(`${place.key.toString()} is gone (its lease ended): the place in the queue is lost`);
    }
    const before = kvs.filter((kv) => kv.createRevision < place.revision).pop();
    if (before === undefined) return;
    try {
      await watchFrom(client, before.key, Buffer.alloc(0), revision + 1, signal, (events) =>
        events.some((e) => e.type === Event_EventType.EVENT_TYPE_DELETE),
      );
    } catch (err) {
      // A failed watch only means look again (on the next endpoint if this one failed).
      if (signal.aborted) throw aborted(signal);
      if (!isServiceError(err)) throw err;
      client.failover();
    }
  }
}

function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CliError('interrupted');
}

/**
 * Watches [key, rangeEnd) from `startRevision` and hands each response's events to
 * `onEvents` until it returns true (resolves true) or `signal` aborts (resolves false).
 * Rejects when the stream fails.
 */
export async function watchFrom(
  client: CliClient,
  key: Buffer,
  rangeEnd: Buffer,
  startRevision: number,
  signal: AbortSignal,
  onEvents: (events: Event[]) => boolean,
): Promise<boolean> {
  if (signal.aborted) return false;
  const stream = (await client.watchClient()).watch();
  return new Promise<boolean>((resolve, reject) => {
    let done = false;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      stream.cancel();
      settle();
    };
    const onAbort = (): void => finish(() => resolve(false));
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (resp: { canceled: boolean; cancelReason: string; events: Event[] }) => {
      if (resp.canceled) return finish(() => reject(serviceError(status.ABORTED, `watch canceled: ${resp.cancelReason}`)));
      if (resp.events.length > 0 && onEvents(resp.events)) finish(() => resolve(true));
    });
    stream.on('error', (err) => finish(() => reject(err)));
    stream.on('end', () => finish(() => reject(serviceError(status.UNAVAILABLE, 'watch stream closed by the server'))));
    stream.write({ request: { $case: 'createRequest', createRequest: WatchCreateRequest.fromPartial({ key, rangeEnd, startRevision }) } });
  });
}

/** Deletes `key` when its create revision is still `revision` (so a later owner's key is left alone). */
export async function removeKey(client: CliClient, place: QueuePlace): Promise<void> {
  await client.txn(
    TxnRequest.fromPartial({
      compare: [
        {
          key: place.key,
          result: Compare_CompareResult.COMPARE_RESULT_EQUAL,
          target: Compare_CompareTarget.COMPARE_TARGET_CREATE,
          targetUnion: { $case: 'createRevision', createRevision: place.revision },
        },
      ],
      success: [{ request: { $case: 'requestDeleteRange', requestDeleteRange: { key: place.key } } }],
    }),
  );
}
