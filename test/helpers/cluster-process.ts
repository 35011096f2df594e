/**
 * Runs a Cairn cluster as real processes on loopback for end-to-end tests:
 *
 *   const cluster = await startClusterProcesses(3, ['--snapshot-count', '200']);
 *   const leader = await cluster.waitForLeader();
 *   await cluster.member(leader).kill();   // SIGKILL
 *   await cluster.member(leader).restart();
 *   await cluster.cleanup();
 */
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaintenanceServiceClient, type HashKVResponse, type StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { freePort } from './free-port.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';

export { freePort };

/** An election takes about one election timeout (1 s); this bound is generous, for CI's two busy cores. */
const LEADER_WAIT_MS = 30_000;

function unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

export interface ClusterMember {
  readonly name: string;
  readonly address: string;
  readonly process: NodeProcess;
  /** Status of the member, or undefined when it does not answer within timeoutMs. */
  status(timeoutMs?: number): Promise<StatusResponse | undefined>;
  hashKv(revision?: number): Promise<HashKVResponse>;
}

export interface ClusterProcesses {
  readonly members: readonly ClusterMember[];
  readonly endpoints: string[];
  member(name: string): ClusterMember;
  /** Waits until the reachable members agree on one leader; returns its name. */
  waitForLeader(timeoutMs?: number): Promise<string>;
  /** Waits until every member answers with the same applied index (and at least `minApplied`). */
  waitForConvergence(timeoutMs?: number): Promise<StatusResponse[]>;
  /** Every member's output, for failure messages. */
  logs(): string;
  cleanup(): Promise<void>;
}

export interface ClusterProcessOptions {
  /** Flags for one member only (its certificate files, its own --metrics-listen port, say). */
  readonly memberArgs?: (name: string, index: number) => string[];
  /** How the helper's own clients (status, hashKv) connect; plaintext by default. */
  readonly credentials?: ChannelCredentials;
  /** --initial-cluster-token; a fresh random one by default, as each test cluster is its own. */
  readonly token?: string;
}

export async function startClusterProcesses(
  size: number,
  extraArgs: string[] = [],
  options: ClusterProcessOptions = {},
): Promise<ClusterProcesses> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-cluster-'));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const names = ports.map((_, i) => `n${i + 1}`);
  const initialCluster = names.map((name, i) => `${name}=127.0.0.1:${ports[i]}`).join(',');
  const token = options.token ?? `test-${randomBytes(8).toString('hex')}`;
  const creds = (): ChannelCredentials => options.credentials ?? credentials.createInsecure();
  const started = await Promise.allSettled(
    names.map((name, i) =>
      startNodeProcess({
        dataDir: join(root, name),
        listen: `127.0.0.1:${ports[i]}`,
        args: [
          '--name',
          name,
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-token',
          token,
          '--log-level',
          'info',
          ...extraArgs,
          ...(options.memberArgs?.(name, i) ?? []),
        ],
      }),
    ),
  );
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    // Members that did start must not outlive the failed start: a test never gets their
    // handles, and running children keep its worker alive.
    await Promise.all(started.flatMap((r) => (r.status === 'fulfilled' ? [r.value.kill()] : [])));
    await rm(root, { recursive: true, force: true });
    throw failed.reason;
  }
  const processes = started.map((r) => (r as PromiseFulfilledResult<NodeProcess>).value);
  const members: ClusterMember[] = processes.map((process, i) => {
    const address = `127.0.0.1:${ports[i]}`;
    return {
      name: names[i]!,
      address,
      process,
      async status(timeoutMs = 1000) {
        const client = new MaintenanceServiceClient(address, creds());
        try {
          return await unary<StatusResponse>((cb) => client.status({}, new Metadata(), { deadline: Date.now() + timeoutMs }, cb));
        } catch {
          return undefined;
        } finally {
          client.close();
        }
      },
      async hashKv(revision = 0) {
        const client = new MaintenanceServiceClient(address, creds());
        try {
          return await unary<HashKVResponse>((cb) => client.hashKv({ revision }, new Metadata(), { deadline: Date.now() + 10_000 }, cb));
        } finally {
          client.close();
        }
      },
    };
  });
  const byName = (name: string): ClusterMember => {
    const found = members.find((m) => m.name === name);
    if (found === undefined) throw new Error(`no member ${name}`);
    return found;
  };
  const logs = (): string => members.map((m) => `--- ${m.name} ---\n${m.process.output()}`).join('\n');
  return {
    members,
    endpoints: members.map((m) => m.address),
    member: byName,
    logs,
    async waitForLeader(timeoutMs = LEADER_WAIT_MS) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const statuses = (await Promise.all(members.map((m) => m.status(500)))).filter((s) => s !== undefined);
        const leaders = new Set(statuses.map((s) => s.leader));
        const leader = statuses.find((s) => s.role === 'leader');
        if (leader !== undefined && leaders.size === 1 && statuses.length > size / 2) return leader.name;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no leader within ${timeoutMs} ms\n${logs()}`);
    },
    async waitForConvergence(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: (StatusResponse | undefined)[] = [];
      while (Date.now() < deadline) {
        last = await Promise.all(members.map((m) => m.status(1000)));
        const applied = new Set(last.map((s) => s?.raftAppliedIndex));
        if (last.every((s) => s !== undefined) && applied.size === 1) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `members did not converge within ${timeoutMs} ms: ${JSON.stringify(last.map((s) => s && { name: s.name, applied: s.raftAppliedIndex }))}`,
      );
    },
    async cleanup() {
      await Promise.all(processes.map((p) => p.cleanup()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
