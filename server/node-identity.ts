import { randomBytes } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';

export interface NodeIdentity {
  clusterId: number;
  memberId: number;
}

const FILE = 'identity.json';

/** Ids stay below 2^53 so that every SDK can hold them as plain numbers. */
function randomId(): number {
  return Number(randomBytes(8).readBigUInt64BE() >> 11n) || 1;
}

/** Reads the member's ids from its data dir, creating them on first start. */
export async function loadIdentity(dataDir: string): Promise<NodeIdentity> {
  const file = path.join(dataDir, FILE);
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as NodeIdentity;
    if (Number.isSafeInteger(parsed.clusterId) && Number.isSafeInteger(parsed.memberId)) return parsed;
    throw new Error(`${file} is malformed`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const identity = { clusterId: randomId(), memberId: randomId() };
  await writeFile(`${file}.tmp`, JSON.stringify(identity) + '\n');
  await rename(`${file}.tmp`, file);
  return identity;
}
