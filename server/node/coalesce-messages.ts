import { MessageType, type Message } from '../raft/message.js';
import { EntryType, type Entry, type NodeId } from '../raft/types.js';

/**
 * Merges the messages of one Ready that a peer would otherwise receive, decode, step, persist
 * and answer one at a time. The core emits one MsgApp per follower for every proposal it
 * appends (and an empty one for every commit advance), so a leader's Ready under load holds
 * several appends per follower, each costing an encode, a decode, a step and an AppResp on
 * the way back. Merged, they cost one of each.
 *
 * Only a message and the message right before it to the same peer merge, so every peer still
 * sees its messages in the order the core sent them (streams are per peer; there is no order
 * between peers to keep). What merges, and why the peer ends in the same state:
 *  - MsgApp after MsgApp of the same term whose entries continue exactly where the first's
 *    end (its `index`/`logTerm` name the first's last entry): the follower would append the
 *    first, then the second, then commit min(commit, last new index); with the commit only
 *    growing, the merged message leaves the same log and commit. A rejection is answered by
 *    the first index's check either way. One difference, for progress only: a follower whose
 *    commit is already past the first's index answers the merged message with its commit and
 *    takes none of it, where it would have taken the second's entries; the leader then sends
 *    them again from that commit, as it does after any lost append.
 *  - MsgAppResp after MsgAppResp of the same term, neither a rejection, the second
 *    acknowledging at least as much: the leader's progress only moves up to the highest
 *    acknowledged index, so the second alone moves it as far.
 *  - MsgProp after MsgProp (forwarded proposals): appended in order either way. Conf changes
 *    stay in messages of their own, since the leader refuses a whole proposal for one.
 * The entries a merged message carries stay under `maxEntryBytes` (the core's message size
 * cap), so a merged message is no larger than one the core could have sent.
 */
export function coalesceMessages(messages: readonly Message[], maxEntryBytes: number): Message[] {
  if (messages.length < 2) return messages.slice();
  const slots: Slot[] = [];
  const lastTo = new Map<NodeId, Slot>();
  for (const m of messages) {
    const prev = lastTo.get(m.to);
    if (prev !== undefined && absorb(prev, m, maxEntryBytes)) continue;
    const slot: Slot = { message: m, entries: undefined, entryBytes: -1 };
    lastTo.set(m.to, slot);
    slots.push(slot);
  }
  return slots.map((s) => (s.entries === undefined ? s.message : { ...s.message, entries: s.entries }));
}

/** One outgoing message; once merged, its entries are gathered in an array of our own (no copy per merge). */
interface Slot {
  message: Message;
  entries: Entry[] | undefined;
  /** Entry bytes of the slot, counted on its first merge (-1 before). */
  entryBytes: number;
}

/** Merges `b` into the slot when the peer ends in the same state either way; false if not. */
function absorb(slot: Slot, b: Message, maxEntryBytes: number): boolean {
  const a = slot.message;
  if (a.type !== b.type || a.from !== b.from || a.term !== b.term) return false;
  if (a.snapshot !== undefined || b.snapshot !== undefined || a.context !== undefined || b.context !== undefined) return false;
  switch (a.type) {
    case MessageType.App:
      if (!continues(a.index, a.logTerm, slot.entries ?? a.entries, b) || b.commit < a.commit) return false;
      if (!addEntries(slot, b.entries, maxEntryBytes)) return false;
      slot.message = { ...a, commit: b.commit };
      return true;
    case MessageType.AppResp:
      if (a.reject || b.reject || b.index < a.index) return false;
      slot.message = b;
      return true;
    case MessageType.Prop:
      // A slot with entries of its own only ever took normal ones: no need to look again.
      return (slot.entries !== undefined || allNormal(a.entries)) && allNormal(b.entries) && addEntries(slot, b.entries, maxEntryBytes);
    default:
      return false;
  }
}

/** `b` appends right after the last of `entries` (which follow `index`): its previous index and term are that entry's. */
function continues(index: number, logTerm: number, entries: readonly Entry[], b: Message): boolean {
  const last = entries[entries.length - 1];
  const end = index + entries.length;
  const endTerm = last === undefined ? logTerm : last.term;
  return (last === undefined || last.index === end) && b.index === end && b.logTerm === endTerm;
}

/** Adds `more` to the slot's entries unless that would take them past `maxEntryBytes`. */
function addEntries(slot: Slot, more: readonly Entry[], maxEntryBytes: number): boolean {
  if (slot.entryBytes < 0) slot.entryBytes = entryBytes(slot.message.entries);
  const bytes = entryBytes(more);
  if (slot.entryBytes + bytes > maxEntryBytes) return false;
  slot.entryBytes += bytes;
  slot.entries ??= [...slot.message.entries];
  for (const e of more) slot.entries.push(e);
  return true;
}

function entryBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.byteLength;
  return n;
}

function allNormal(entries: readonly Entry[]): boolean {
  return entries.every((e) => e.type === EntryType.Normal);
}
