import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged process may still write on the filesystem that holds `dir`. */
export async function availableDiskBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
