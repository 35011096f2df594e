/**
 * A member removed from its cluster never serves again under its id (ids are never reused):
 * what it says when it stops, and the error a restart on its data dir ends with. `cairn serve`
 * exits with REMOVED_EXIT_CODE for both, so a supervisor does not take it for a clean stop.
 */
export class MemberRemovedError extends Error {
  override readonly name = 'MemberRemovedError';
}

/** The way back for the machine, named in every message about a removed member. */
export function removedMemberFix(dataDir: string): string {
  return (
    `Its data dir (${dataDir}) cannot rejoin under the same name and id: to bring the machine back, ` +
    `'cairn member add' it under a new name and start it with an empty --data-dir and --join`
  );
}
