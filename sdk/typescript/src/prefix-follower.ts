/**
 * Follows every key under a prefix: the keys as of one read, then the same map after each
 * revision, from a watch that starts at the revision after the read (so no change is
 * missed or seen twice, across member failures too).
 */
import type { KeyValue } from './kv-types.js';
import type { SessionClient } from './session.js';
import type { WatchEvent } from './watch.js';

export interface PrefixState {
  revision: bigint;
  /** Every key under the prefix at `revision`, by key (UTF-8). */
  keys: Map<string, KeyValue>;
  /** The events that led from the previous state to this one (none in the first). */
  events: WatchEvent[];
}

export type PrefixReader = Pick<SessionClient, 'range' | 'watch'>;

export async function* followPrefix(
  client: PrefixReader,
  prefix: string,
  signal?: AbortSignal,
): AsyncGenerator<PrefixState, void, undefined> {
  const initial = await client.range({ prefix });
  const keys = new Map(initial.kvs.map((kv) => [kv.keyString, kv]));
  yield { revision: initial.revision, keys, events: [] };
  for await (const batch of client.watch(prefix, { prefix: true, startRevision: initial.revision + 1n, ...(signal ? { signal } : {}) })) {
    for (const e of batch.events) {
      if (e.type === 'put') keys.set(e.kv.keyString, e.kv);
      else keys.delete(e.kv.keyString);
    }
    yield { revision: batch.revision, keys, events: batch.events };
  }
}
