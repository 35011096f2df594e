/**
 * Where the real etcd tools are, as scripts/install-etcd-tools.sh installs them (npm test runs
 * it first, step `etcd-tools`): etcd and etcdctl 3.7.3 built from the Go module proxy into a
 * cache directory, and Debian's etcdctl 3.4 (package etcd-client) at /usr/bin/etcdctl.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/node-process.js';

/** The version scripts/etcd-tools/go.mod pins; the install script reads it the same way. */
function pinnedVersion(): string {
  const goMod = readFileSync(join(REPO_ROOT, 'scripts', 'etcd-tools', 'go.mod'), 'utf8');
  const match = /go\.etcd\.io\/etcd\/server\/v3 (v\S+)/.exec(goMod);
  if (match === null) throw new Error('scripts/etcd-tools/go.mod pins no go.etcd.io/etcd/server/v3');
  return match[1]!;
}

export const ETCD_VERSION = pinnedVersion();
const TOOLS_DIR = process.env['CAIRN_ETCD_TOOLS'] ?? join(homedir(), '.cache', 'cairn', 'etcd-tools', ETCD_VERSION);

export interface Etcdctl {
  /** Shown in test titles: "etcdctl 3.7.3", "etcdctl 3.4 (Debian)". */
  readonly label: string;
  readonly path: string;
}

export const ETCD_BIN = join(TOOLS_DIR, 'etcd');
export const ETCDCTL_37: Etcdctl = { label: `etcdctl ${ETCD_VERSION.slice(1)}`, path: join(TOOLS_DIR, 'etcdctl') };
export const ETCDCTL_DEBIAN: Etcdctl = { label: 'etcdctl 3.4 (Debian)', path: '/usr/bin/etcdctl' };

/** Throws with what to run when a tool is missing, rather than failing obscurely later. */
export function requireEtcdTools(): void {
  const missing = [ETCD_BIN, ETCDCTL_37.path, ETCDCTL_DEBIAN.path].filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run scripts/install-etcd-tools.sh`);
}
