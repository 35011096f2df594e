/**
 * Service discovery: services register keys bound to their session (`session.register`);
 * `discover(prefix)` returns the live set at one revision and the joins and leaves after it.
 *
 *   const { services, changes } = await client.discover('services/api/');
 *   for await (const c of changes) console.log(c.type, c.key, c.value);
 *
 * A service that dies stops renewing its lease; when the lease expires its key is deleted,
 * which `changes` reports as a leave.
 */
import type { PrefixReader } from './prefix-follower.js';
import type { Watch } from './watch.js';

export interface ServiceChange {
  /** 'join' when a key appears or its value changes, 'leave' when it is deleted. */
  type: 'join' | 'leave';
  key: string;
  /** The new value ('' for a leave). */
  value: string;
  revision: bigint;
}

export interface Discovery {
  /** The revision `services` was read at; `changes` starts at the one after. */
  revision: bigint;
  /** The live services: key → value (UTF-8). */
  services: Map<string, string>;
  /** Joins and leaves from `revision + 1` on; `return()` (or `break`, or the signal) stops it. */
  changes: AsyncGenerator<ServiceChange, void, undefined>;
}

export async function discover(client: PrefixReader, prefix: string, options: { signal?: AbortSignal } = {}): Promise<Discovery> {
  const initial = await client.range({ prefix });
  const services = new Map(initial.kvs.map((kv) => [kv.keyString, kv.valueString]));
  const watch = client.watch(prefix, {
    prefix: true,
    startRevision: initial.revision + 1n,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { revision: initial.revision, services, changes: changesOf(watch) };
}

async function* changesOf(watch: Watch): AsyncGenerator<ServiceChange, void, undefined> {
  try {
    for await (const batch of watch) {
      for (const e of batch.events) {
        yield e.type === 'put'
          ? { type: 'join', key: e.kv.keyString, value: e.kv.valueString, revision: batch.revision }
          : { type: 'leave', key: e.kv.keyString, value: '', revision: batch.revision };
      }
    }
  } finally {
    await watch.return();
  }
}
