import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { NodeId } from '../raft/types.js';

/** In the data dir: the names and addresses of the members, and the ids removed for good. */
export const MEMBER_RECORDS_FILE = 'members.json';
const FORMAT_VERSION = 1;

export interface StoredMember {
  readonly id: NodeId;
  readonly name: string;
  readonly address: string;
}

export interface StoredMemberRecords {
  readonly known: readonly StoredMember[];
  readonly removed: readonly NodeId[];
  /**
   * The configuration this member's log starts from when it has no snapshot yet: the
   * bootstrap voters, or for a member that joined, the configuration that added it.
   */
  readonly start: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] };
}

/** undefined when the member has none yet (a new data dir, or one from before membership changes). */
export function readMemberRecords(dataDir: string): StoredMemberRecords | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, MEMBER_RECORDS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as { version?: number; records?: StoredMemberRecords };
  if (parsed.version !== FORMAT_VERSION || parsed.records === undefined) {
    throw new Error(`${path.join(dataDir, MEMBER_RECORDS_FILE)} has an unknown format (version ${parsed.version})`);
  }
  return parsed.records;
}

/**
 * Replaces the records atomically and durably (temporary file, fsync, rename, fsync of the
 * directory). Synchronous on purpose: it runs when a membership change is applied, and must
 * be on disk before the driver goes on and may compact away the log entry that named the
 * member. Changes are rare, so blocking the loop for one small write is cheap.
 */
export function writeMemberRecords(dataDir: string, records: StoredMemberRecords): void {
  const file = path.join(dataDir, MEMBER_RECORDS_FILE);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify({ version: FORMAT_VERSION, records }) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dataDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
