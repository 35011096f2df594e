/**
 * A member removed from its cluster never serves again under its id (ids are never reused;
 * its name may be added again, under a new id):
 * what it says when it stops, and the error a restart on its data dir ends with. `cairn serve`
 * exits with REMOVED_EXIT_CODE for both, so a supervisor does not take it for a clean stop.
 */
export class MemberRemovedError extends Error {
  override readonly name = 'MemberRemovedError';
}

/** The way back for the machine, named in every message about a removed member. */
export function removedMemberFix(dataDir: string): string {
  return (
    `Its data dir (${dataDir}) holds the removed id and cannot rejoin: to bring the machine back, ` +
    `'cairn member add' it again (it gets a new id) and start it with an empty --data-dir and --join`
  );
}
