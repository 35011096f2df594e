import type { RaftObserver } from './ports/raft-observer.js';
import type { RaftLogPersistence } from './ports/raft-log-persistence.js';

/**
 * Times each log write (one per Ready: the group commit of every proposal the Ready holds)
 * for the observer, without the driver knowing: a decorator of the persistence port.
 */
export function observedPersistence(inner: RaftLogPersistence, observer: Pick<RaftObserver, 'logWritten'>): RaftLogPersistence {
  return {
    save(batch) {
      const started = performance.now();
      return inner.save(batch).then(() => observer.logWritten(batch.entries.length, batch.mustSync, (performance.now() - started) / 1000));
    },
    compact: (snapshot, compactIndex) => inner.compact(snapshot, compactIndex),
  };
}
