import type { StorageEngine } from './engine.js';
import { REJOIN_FIX, type MemberIdentity } from './promise-check.js';
import { OWNER_KEY } from './reserved-keys.js';
import { StorageErrorCode, StorageIntegrityError } from './storage-error.js';

/**
 * Binds the database itself (not only the data dir's identity.json) to one member of one
 * cluster: a database directory copied over from another member is refused, even when the
 * files around it were left in place. A database without the mark (new, or written before
 * the mark existed) gets it.
 */
export async function checkEngineOwner(engine: StorageEngine, engineDir: string, identity: MemberIdentity): Promise<void> {
  const stored = await engine.get(OWNER_KEY);
  const expected = Buffer.from(JSON.stringify({ clusterId: identity.clusterId, memberId: identity.memberId }));
  if (stored === undefined) {
    await engine.write([{ type: 'put', key: OWNER_KEY, value: expected }], { sync: true });
    return;
  }
  if (stored.equals(expected)) return;
  let owner = stored.toString('utf8');
  try {
    const o = JSON.parse(owner) as MemberIdentity;
    owner = `member ${o.memberId} of cluster ${o.clusterId}`;
  } catch {
    // Shown as stored.
  }
  throw new StorageIntegrityError(
    StorageErrorCode.WrongMember,
    `${engineDir} belongs to ${owner}, not to member ${identity.memberId} of cluster ${identity.clusterId}: ` +
      `another member's database was put in this data dir; ${REJOIN_FIX}`,
  );
}
