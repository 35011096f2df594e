/**
 * Helpers for the engine-damage tests: acknowledged writes through a real node process,
 * offline damage to its files, and the verdict on the restart: refused with the expected
 * message, or started holding every acknowledged write (never fewer).
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { readdir, stat, truncate, open } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { KVServiceClient, PutRequest, RangeRequest, type PutResponse, type RangeResponse } from '../../gen/ts/cairn/v1/kv.js';
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.js';

export interface Ack {
  key: string;
  value: string;
}

const CONCURRENCY = 8;

function call<T>(f: (cb: (err: ServiceError | null, res?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => f((err, res) => (err ? reject(err) : resolve(res!))));
}

/** `count` acknowledged puts with distinct keys under `prefix`, a few at a time. */
export async function acknowledgedPuts(address: string, prefix: string, count: number, valueBytes = 200): Promise<Ack[]> {
  const client = new KVServiceClient(address, credentials.createInsecure());
  const acks: Ack[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const key = `${prefix}/${String(i).padStart(6, '0')}`;
      const value = `${key}:${'v'.repeat(valueBytes)}`;
      await call<PutResponse>((cb) =>
        client.put(
          PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from(value) }),
          new Metadata(),
          { deadline: Date.now() + 60_000 },
          cb,
        ),
      );
      acks.push({ key, value });
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    client.close();
  }
  return acks;
}

/** Every key and value the node holds (a linearizable read). */
export async function readAll(address: string): Promise<Map<string, string>> {
  const client = new KVServiceClient(address, credentials.createInsecure());
  try {
    const res = await call<RangeResponse>((cb) =>
      client.range(
        RangeRequest.fromPartial({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }),
        new Metadata(),
        { deadline: Date.now() + 60_000 },
        cb,
      ),
    );
    return new Map(res.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
  } finally {
    client.close();
  }
}

/**
 * Starts a node on a damaged data dir. Passes if it refuses with `refusal` in its output,
 * or if it starts and holds every acknowledged write; fails if it starts with fewer.
 * Returns how it went.
 */
export async function restartAfterDamage(
  t: ExecutionContext,
  dataDir: string,
  args: string[],
  acks: readonly Ack[],
  refusal: RegExp,
): Promise<'refused' | 'complete'> {
  let node: NodeProcess;
  try {
    node = await startNodeProcess({ dataDir, args });
  } catch (err) {
    const output = err instanceof Error ? err.message : String(err);
    t.regex(output, refusal, 'the member refused to start, but not with the expected message');
    t.log(`refused: ${output.trim().split('\n').pop() ?? ''}`);
    return 'refused';
  }
  try {
    const stored = await readAll(node.address);
    const missing = acks.filter((a) => stored.get(a.key) !== a.value);
    t.is(
      missing.length,
      0,
      `started with ${acks.length - missing.length} of ${acks.length} acknowledged writes (first missing: ${missing[0]?.key})`,
    );
    t.log(`started with all ${acks.length} acknowledged writes`);
    return 'complete';
  } finally {
    await node.stop();
  }
}

/** Files of the engine directory whose names end with `suffix`, largest first. */
export async function engineFiles(dataDir: string, engine: string, suffix: string): Promise<string[]> {
  const dir = path.join(dataDir, engine);
  const names = (await readdir(dir)).filter((f) => f.endsWith(suffix));
  const sized = await Promise.all(names.map(async (f) => ({ file: path.join(dir, f), size: (await stat(path.join(dir, f))).size })));
  return sized.sort((a, b) => b.size - a.size).map((f) => f.file);
}

export async function truncateTo(file: string, fraction: number): Promise<void> {
  const { size } = await stat(file);
  await truncate(file, Math.floor(size * fraction));
}

export async function overwrite(file: string, fraction: number, bytes: Buffer): Promise<void> {
  const { size } = await stat(file);
  const handle = await open(file, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, Math.floor(size * fraction));
  } finally {
    await handle.close();
  }
}
