/**
 * A new member catching up by snapshot from a large store, on real processes (issue 14):
 *
 *   1. a one-member cluster (n1) is filled with `keys` values of `valueBytes` random bytes,
 *      with a small --snapshot-count so the Raft log is compacted far past its start;
 *   2. n2 is added as a learner (MemberAdd) and started with --join: the leader no longer
 *      has the entries, so it must send n2 a snapshot of the whole store;
 *   3. once n2 reached n1's revision, its peak resident memory (VmHWM in /proc/<pid>/status)
 *      is read, with the empty-member baseline to compare; then n2's HashKV must equal n1's.
 *
 * Used by test/e2e/snapshot-catch-up.test.ts (a small store, in `npm test`) and by
 * bench/snapshot-catch-up.ts (1 GiB and more, run by hand).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials, Metadata, status as grpcStatus } from '@grpc/grpc-js';
import { KVServiceClient, PutRequest, type PutResponse } from '../../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceClient, type HashKVResponse } from '../../gen/ts/cairn/v1/maintenance.js';
import { freePort } from './cluster-process.js';
import { Members } from './member-clients.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';

/**
 * The allocator setting deployments run with (deploy/systemd/cairn.service, the Docker
 * image; docs/operations.md, "Sizing"): a fixed glibc trim threshold, which also keeps glibc's
 * mmap threshold at 128 KiB. Without it glibc raises both once the storage engine frees its
 * first large buffers, and the freed 1 MiB values of an install stay resident. Measured, not
 * assumed: the memory a member is asked to stay within is the memory it uses as deployed.
 */
export const DEPLOYED_MEMBER_ENV: Readonly<Record<string, string>> = { MALLOC_TRIM_THRESHOLD_: '131072' };

export interface CatchUpOptions {
  readonly root: string;
  readonly keys: number;
  readonly valueBytes: number;
  /** Puts in flight at once while filling the store. */
  readonly concurrency?: number;
  /** Bound on each wait; only there to stop a stuck run. */
  readonly waitMs: number;
  readonly log: (line: string) => void;
  /** Extra `cairn serve` flags for both members. */
  readonly serveArgs?: readonly string[];
  /** The members' environment on top of the inherited one (default DEPLOYED_MEMBER_ENV). */
  readonly env?: Readonly<Record<string, string>>;
  /** Filled with the members as they start, so the caller can stop them whatever happens. */
  readonly processes: NodeProcess[];
}

export interface CatchUpResult {
  readonly storeBytes: number;
  readonly revision: number;
  readonly hashLeader: string;
  readonly hashNew: string;
  /** Peak RSS of a member that has only started (n1 before any write), in bytes. */
  readonly baselinePeakRssBytes: number;
  /** Peak RSS of the new member from its start until it caught up, in bytes. */
  readonly receiverPeakRssBytes: number;
  readonly fillSeconds: number;
  readonly catchUpSeconds: number;
  /** n2's log lines about the snapshot it received and installed. */
  readonly receiverSnapshotLog: string;
}

/** VmHWM (peak resident set) of a running process, in bytes. */
export async function peakRssBytes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(text);
  if (kb === null) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}

function put(client: KVServiceClient, key: string, value: Buffer): Promise<PutResponse> {
  return new Promise((resolve, reject) =>
    client.put(PutRequest.fromPartial({ key: Buffer.from(key), value }), new Metadata(), { deadline: Date.now() + 60_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

function hashKv(address: string, revision: number): Promise<HashKVResponse> {
  const client = new MaintenanceServiceClient(address, credentials.createInsecure());
  return new Promise<HashKVResponse>((resolve, reject) =>
    client.hashKv({ revision }, new Metadata(), { deadline: Date.now() + 60_000 }, (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

/** Retries while `attempt` fails; bounded by `waitMs`. */
async function eventually<T>(attempt: () => Promise<T>, waitMs: number, what: () => string): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what()}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function runSnapshotCatchUp(o: CatchUpOptions): Promise<CatchUpResult> {
  const serveArgs = ['--log-level', 'info', '--snapshot-count', '20', '--snapshot-catch-up-entries', '5', ...(o.serveArgs ?? [])];
  const processes = o.processes;
  const logs = (): string => processes.map((p, i) => `--- n${i + 1} ---\n${p.output().slice(-20_000)}`).join('\n');
  const env = { ...(o.env ?? DEPLOYED_MEMBER_ENV) };
  const n1 = await startNodeProcess({ dataDir: join(o.root, 'n1'), args: ['--name', 'n1', ...serveArgs], env });
  processes.push(n1);
  const baselinePeakRssBytes = await peakRssBytes(n1.pid);

  // 1. Fill the store.
  const fillStart = performance.now();
  const kv = new KVServiceClient(n1.address, credentials.createInsecure());
  let next = 0;
  let revision = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < o.keys; i = next++) {
      const res = await eventually(
        () => put(kv, `big/${String(i).padStart(6, '0')}`, randomBytes(o.valueBytes)),
        o.waitMs,
        () => `put ${i}`,
      );
      revision = Math.max(revision, res.header?.revision ?? 0);
      if ((i + 1) % 100 === 0) o.log(`${i + 1} of ${o.keys} values written`);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  kv.close();
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const storeBytes = o.keys * o.valueBytes;
  o.log(`store filled: ${o.keys} x ${o.valueBytes} bytes at revision ${revision} in ${fillSeconds.toFixed(1)} s`);

  // 2. Add n2 as a learner and start it with --join.
  const members = new Members(n1.address);
  const address = `127.0.0.1:${await freePort()}`;
  const added = await eventually(
    () => members.add('n2', address),
    o.waitMs,
    () => 'member add n2',
  );
  members.close();
  if (added.member?.learner !== true) throw new Error('n2 was not added as a learner');
  const catchUpStart = performance.now();
  const n2 = await startNodeProcess({
    dataDir: join(o.root, 'n2'),
    listen: address,
    args: ['--name', 'n2', '--join', n1.address, ...serveArgs],
    env,
  });
  processes.push(n2);

  // 3. Caught up: its revision reached the leader's. The peak RSS is read now, before
  // HashKV, whose pages of up to 1000 keys with their values are its own cost, not the
  // snapshot's.
  const n2Members = new Members(n2.address);
  await eventually(
    async () => {
      const st = await n2Members.status();
      if ((st.header?.revision ?? 0) < revision) throw new Error(`at revision ${st.header?.revision}`);
    },
    o.waitMs,
    () => `n2 to reach revision ${revision}\n${logs()}`,
  ).finally(() => n2Members.close());
  const catchUpSeconds = (performance.now() - catchUpStart) / 1000;
  const receiverPeakRssBytes = await peakRssBytes(n2.pid);
  o.log(`n2 caught up in ${catchUpSeconds.toFixed(1)} s; peak RSS ${(receiverPeakRssBytes / 1048576).toFixed(0)} MiB`);
  // The same hash at the same revision.
  const hashLeader = (await hashKv(n1.address, revision)).hash;
  const hashNew = await eventually(
    async () => {
      const h = await hashKv(n2.address, revision);
      if (h.hash !== hashLeader) throw Object.assign(new Error(`hash ${h.hash} != ${hashLeader}`), { code: grpcStatus.UNAVAILABLE });
      return h.hash;
    },
    o.waitMs,
    () => `n2 to hash like n1 at revision ${revision}\n${logs()}`,
  );
  const receiverSnapshotLog = n2
    .output()
    .split('\n')
    .filter((l) => /snapshot/i.test(l))
    .join('\n');
  return {
    storeBytes,
    revision,
    hashLeader,
    hashNew,
    baselinePeakRssBytes,
    receiverPeakRssBytes,
    fillSeconds,
    catchUpSeconds,
    receiverSnapshotLog,
  };
}
