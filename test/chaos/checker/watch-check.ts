/**
 * Watch streams against the committed history: a watcher that resumed across faults from
 * its last revision + 1 must have seen exactly the committed events from where it started to
 * where it stopped, in order, none twice, and each revision's events in one response; and a
 * progress notification for revision R must not arrive before every event up to R.
 */
import type { RevEvent, RevisionHistory } from './revision-history.js';

/** One watch response as the watcher received it. */
export interface WatchBatch {
  readonly member: string;
  readonly events: readonly RevEvent[];
}

/** A progress notification: `revision` claimed while the last event received was `lastSeen`. */
export interface WatchProgress {
  readonly member: string;
  readonly revision: number;
  readonly lastSeen: number;
}

export interface WatcherLog {
  readonly name: string;
  /** The revision the first watch started from. */
  readonly startRevision: number;
  readonly batches: readonly WatchBatch[];
  readonly progress?: readonly WatchProgress[];
}

const show = (e: RevEvent | undefined): string => (e === undefined ? 'nothing' : `${e.key}=${e.value ?? '<delete>'}@${e.revision}`);

export function checkWatcher(log: WatcherLog, rh: RevisionHistory): string[] {
  const problems: string[] = [];
  const got = log.batches.flatMap((b) => b.events);
  if (got.length === 0) return problems;
  const last = got.at(-1)!.revision;
  const want = rh.events.filter((e) => e.revision >= log.startRevision && e.revision <= last);
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (g?.revision !== w?.revision || g?.key !== w?.key || g?.value !== w?.value) {
      problems.push(
        `${log.name}: event ${i} is ${show(g)}, the committed history has ${show(w)} (received ${got.length}, expected ${want.length} up to revision ${last})`,
      );
      break;
    }
  }
  const batchOf = new Map<number, number>();
  log.batches.forEach((b, i) => {
    for (const e of b.events) {
      const first = batchOf.get(e.revision);
      if (first !== undefined && first !== i) {
        problems.push(
          `${log.name}: events of revision ${e.revision} arrived in two responses (${first} and ${i}, the latter from ${b.member})`,
        );
        return;
      }
      batchOf.set(e.revision, i);
    }
  });
  for (const p of log.progress ?? []) {
    const missed = rh.events.find((e) => e.revision > p.lastSeen && e.revision >= log.startRevision && e.revision <= p.revision);
    if (missed !== undefined) {
      problems.push(
        `${log.name}: ${p.member} notified progress at revision ${p.revision} before sending ${show(missed)} (last event received: revision ${p.lastSeen})`,
      );
      break;
    }
  }
  return problems.slice(0, 5);
}
