/**
 * Runs a real etcd cluster (the binary scripts/install-etcd-tools.sh builds) as processes on
 * loopback, for comparing Cairn's etcd-compatible API with etcd's own: free ports, a
 * temporary data directory, every process killed by its PID at cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/cluster-process.js';
import { ETCD_BIN } from './etcd-tools.js';

/** An etcd member is ready once it serves clients; generous, for CI's two busy cores. */
const READY_TIMEOUT_MS = 60_000;

export interface EtcdMember {
  readonly name: string;
  /** host:port of its client URL. */
  readonly address: string;
  readonly pid: number;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  readonly endpoints: string[];
  logs(): string;
  cleanup(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts `size` members named n1..nN (Cairn's test clusters use the same names, so member
 * lists compare) and resolves once each logged that it serves client traffic.
 */
export async function startEtcdCluster(size: number): Promise<EtcdCluster> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-etcd-'));
  const names = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const clientPorts = await Promise.all(names.map(() => freePort()));
  const peerPorts = await Promise.all(names.map(() => freePort()));
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${peerPorts[i]}`).join(',');
  const logs = names.map((): string[] => []);
  const children: (ChildProcess | undefined)[] = names.map(() => undefined);

  const spawnMember = (i: number, state: 'new' | 'existing'): Promise<void> => {
    const child = spawn(
      ETCD_BIN,
      [
        '--name',
        names[i]!,
        '--data-dir',
        join(root, names[i]!),
        '--listen-client-urls',
        `http://127.0.0.1:${clientPorts[i]}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${clientPorts[i]}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${peerPorts[i]}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peerPorts[i]}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        state,
        '--initial-cluster-token',
        `cairn-compat-${root}`,
        '--listen-metrics-urls',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children[i] = child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`etcd ${names[i]} not ready within ${READY_TIMEOUT_MS} ms:\n${logs[i]!.join('')}`));
      }, READY_TIMEOUT_MS);
      let seen = '';
      const take = (chunk: string): void => {
        logs[i]!.push(chunk);
        seen += chunk;
        // etcd logs this once it joined the cluster and its client listener serves.
        if (seen.includes('serving client traffic insecurely')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.setEncoding('utf8').on('data', take);
      child.stderr.setEncoding('utf8').on('data', take);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`etcd ${names[i]} exited (${code ?? signal}) before serving:\n${logs[i]!.join('')}`));
      });
    });
  };

  const killMember = async (i: number): Promise<void> => {
    const child = children[i];
    if (child === undefined) return;
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    await exited(child);
  };

  const cleanup = async (): Promise<void> => {
    await Promise.all(names.map((_, i) => killMember(i)));
    await rm(root, { recursive: true, force: true });
  };

  const started = await Promise.allSettled(names.map((_, i) => spawnMember(i, 'new')));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await cleanup();
    throw failed.reason;
  }
  return {
    members: names.map((name, i) => ({
      name,
      address: `127.0.0.1:${clientPorts[i]}`,
      get pid() {
        return children[i]!.pid!;
      },
      kill: () => killMember(i),
      restart: async () => {
        await killMember(i);
        await spawnMember(i, 'existing');
      },
    })),
    endpoints: clientPorts.map((p) => `127.0.0.1:${p}`),
    logs: () => names.map((n, i) => `--- ${n} ---\n${logs[i]!.join('')}`).join('\n'),
    cleanup,
  };
}
