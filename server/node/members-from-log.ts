import { ConfChangeType, decodeConfChange } from '../raft/conf-change.js';
import type { RaftStorage } from '../raft/storage.js';
import { EntryType } from '../raft/types.js';
import { decodeMemberContext, type Membership } from './membership.js';

/** Read in pieces so that a long log is never held twice in memory. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Learns the names and addresses carried by the conf changes still in the log. The member
 * records are saved after a change is applied, so a crash in between leaves the change in
 * the log (it is compacted only later) but not in the records: this fills that gap at start.
 */
export function learnMembersFromLog(storage: RaftStorage, membership: Membership): void {
  let next = storage.firstIndex();
  const end = storage.lastIndex() + 1;
  while (next < end) {
    const entries = storage.entries(next, end, CHUNK_BYTES);
    for (const e of entries) {
      if (e.type !== EntryType.ConfChange) continue;
      const cc = decodeConfChange(e.data);
      const member = cc.type === ConfChangeType.AddLearner ? decodeMemberContext(cc.nodeId, cc.context) : undefined;
      if (member !== undefined) membership.learn(member);
    }
    next += entries.length;
  }
}
