/**
 * Typed configuration on top of KV: JSON values decoded into T, optionally validated.
 */
import type { Bytes } from './bytes.js';
import type { ReadOptions } from './requests.js';
import type { KeyValue, RangeResult } from './kv-types.js';
import type { Watch, WatchOptions } from './watch.js';

/**
 * Turns the parsed JSON into a T, throwing when it is not one. Without it, the parsed JSON
 * is trusted to be a T.
 */
export type Decoder<T> = (json: unknown) => T;

export interface ConfigOptions<T> {
  decode?: Decoder<T>;
}

/** One version of a config key; value is undefined while the key does not exist. */
export interface ConfigVersion<T> {
  value: T | undefined;
  /** The key's modRevision, or the store revision observed when the key is absent. */
  revision: bigint;
}

export function decodeConfig<T>(kv: KeyValue, decode: Decoder<T> | undefined): T {
  let json: unknown;
  try {
    json = JSON.parse(kv.valueString);
  } catch (err) {
    throw new TypeError(`config ${kv.keyString} at revision ${kv.modRevision} is not JSON: ${(err as Error).message}`);
  }
  return decode === undefined ? (json as T) : decode(json);
}

/** What watchConfig needs from the client, kept narrow so this file stays about config. */
export interface ConfigSource {
  range(key: Bytes, options?: ReadOptions): Promise<RangeResult>;
  watch(key: Bytes, options?: WatchOptions): Watch;
}

/**
 * Yields the current version of the key, then every later one, decoded. Each version is
 * read from the watch after the read's revision, so none is missed between the two.
 */
export async function* watchConfig<T>(
  source: ConfigSource,
  key: Bytes,
  options: ConfigOptions<T> & { signal?: AbortSignal } = {},
): AsyncGenerator<ConfigVersion<T>, void, undefined> {
  const current = await source.range(key);
  const kv = current.kvs[0];
  yield kv === undefined
    ? { value: undefined, revision: current.revision }
    : { value: decodeConfig(kv, options.decode), revision: kv.modRevision };
  const watch = source.watch(key, {
    startRevision: current.revision + 1n,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  try {
    for await (const batch of watch) {
      // A single key changes at most once per revision; the last event is its state.
      const last = batch.events[batch.events.length - 1];
      if (last === undefined) continue;
      yield last.type === 'delete'
        ? { value: undefined, revision: batch.revision }
        : { value: decodeConfig(last.kv, options.decode), revision: batch.revision };
    }
  } finally {
    await watch.return();
  }
}
