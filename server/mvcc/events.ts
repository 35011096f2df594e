import type { Event } from '../../gen/ts/cairn/v1/types.js';

/** Every change of one store revision, in sub-revision order. Watchers get them together. */
export interface RevisionEvents {
  readonly revision: number;
  readonly events: Event[];
  /**
   * Whether each event carries prev_kv where a previous version exists. Live writes load
   * previous versions only when some watcher asked for them; a watcher that wants prev_kv
   * and meets a revision without them reads it again from storage.
   */
  readonly prevKvLoaded: boolean;
}
