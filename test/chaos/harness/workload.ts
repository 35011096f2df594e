/**
 * Concurrent clients on a small key set, recording every operation with its invoke and
 * complete time and outcome. Each client runs one op at a time (so its ops are sequential)
 * and moves to another member after an error. Besides the plain keys, clients grant, renew
 * and revoke leases and attach lease keys to them (lease-workload.ts).
 */
import { status } from '@grpc/grpc-js';
import { Compare_CompareResult, Compare_CompareTarget } from '../../../gen/ts/cairn/v1/kv.js';
import type { Call, Op, Outcome, Result } from '../checker/history.js';
import { ClientPool, isServiceError, type MemberClient } from './clients.js';
import { ClientLeases, leaseKeyNames, sendLeaseCall, type LeaseKind } from './lease-workload.js';
import { Rng } from './rng.js';

export interface WorkloadOptions {
  readonly clients: number;
  readonly keys: number;
  /** Keys written only with leases (checker/lease-check.ts). */
  readonly leaseKeys: number;
  readonly opTimeoutMs: number;
  readonly seed: number;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (buf: Buffer | undefined): string | null => (buf === undefined ? null : buf.toString('latin1'));

type Kind = 'put' | 'get' | 'stale-get' | 'delete' | 'cas' | 'mput' | 'mget' | 'lget' | 'stale-lget' | LeaseKind;
const MIX: readonly (readonly [Kind, number])[] = [
  ['put', 20],
  ['get', 25],
  ['stale-get', 10],
  ['delete', 5],
  ['cas', 25],
  ['mput', 7],
  ['mget', 8],
  // Leases: about a quarter of the ops.
  ['grant', 4],
  ['lput', 7],
  ['lmput', 3],
  ['lget', 8],
  ['stale-lget', 3],
  ['keepalive', 6],
  ['revoke', 2],
];

/** Microseconds since `t0` (process.hrtime). */
export const micros = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1000;

export class Workload {
  readonly history: Op[] = [];
  private stopped = false;
  private running: Promise<void>[] = [];
  /** The last value any client saw per key: what a compare-and-swap expects. */
  private readonly lastSeen = new Map<string, string | null>();
  private readonly pools: ClientPool[] = [];
  private okCount = 0;
  private readonly okWaiters = new Set<{ n: number; resolve: (reached: boolean) => void }>();

  constructor(
    private readonly addresses: ReadonlyMap<string, string>,
    private readonly options: WorkloadOptions,
    readonly t0: bigint,
  ) {}

  start(): void {
    const names = [...this.addresses.keys()];
    for (let c = 0; c < this.options.clients; c++) {
      const pool = new ClientPool(this.addresses);
      this.pools.push(pool);
      this.running.push(this.runClient(c, pool, names, new Rng(this.options.seed * 7919 + c)));
    }
  }

  /** Lets every client finish its current op (bounded by the op timeout), then closes channels. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
    for (const p of this.pools) p.close();
  }

  okOpsBetween(fromMicros: number, toMicros: number): number {
    return this.history.filter((o) => o.outcome === 'ok' && o.complete >= fromMicros && o.complete < toMicros).length;
  }

  /** Operations that completed ok so far. */
  get okOps(): number {
    return this.okCount;
  }

  /** Resolves once `n` operations completed ok (counted from the start), or false after limitMs. */
  whenOkOps(n: number, limitMs: number): Promise<boolean> {
    if (this.okCount >= n) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { n, resolve: (reached: boolean) => resolve(reached) };
      const timer = setTimeout(() => {
        this.okWaiters.delete(waiter);
        resolve(false);
      }, limitMs);
      waiter.resolve = (reached) => {
        clearTimeout(timer);
        resolve(reached);
      };
      this.okWaiters.add(waiter);
    });
  }

  private countOk(): void {
    this.okCount++;
    for (const w of this.okWaiters)
      if (this.okCount >= w.n) {
        this.okWaiters.delete(w);
        w.resolve(true);
      }
  }

  private async runClient(client: number, pool: ClientPool, names: string[], rng: Rng): Promise<void> {
    let member = names[client % names.length]!;
    let seq = 0;
    const keys = Array.from({ length: this.options.keys }, (_, i) => `k${i}`);
    const leaseKeys = leaseKeyNames(this.options.leaseKeys);
    const leases = new ClientLeases(client, rng);
    while (!this.stopped) {
      const value = `c${client}-${seq++}`;
      const kind = rng.weighted(MIX);
      const call =
        kind === 'lget' || kind === 'stale-lget'
          ? { f: 'get' as const, key: rng.pick(leaseKeys), serializable: kind === 'stale-lget' }
          : kind === 'grant' || kind === 'lput' || kind === 'lmput' || kind === 'keepalive' || kind === 'revoke'
            ? leases.callOf(kind, ...twoOf(rng, leaseKeys), value)
            : this.callOf(kind, rng.pick(keys), value, rng, keys);
      const ok = await this.execute(client, pool.get(member), call, leases);
      if (!ok) {
        member = rng.pick(names.filter((n) => n !== member));
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  private callOf(kind: Exclude<Kind, LeaseKind | 'lget' | 'stale-lget'>, key: string, value: string, rng: Rng, keys: string[]): Call {
    switch (kind) {
      case 'put':
        return { f: 'put', key, value };
      case 'get':
      case 'stale-get':
        return { f: 'get', key, serializable: kind === 'stale-get' };
      case 'delete':
        return { f: 'delete', key };
      case 'cas':
        return { f: 'cas', key, expected: this.lastSeen.get(key) ?? null, value };
      case 'mput':
      case 'mget': {
        const other = rng.pick(keys.filter((k) => k !== key));
        return kind === 'mput'
          ? {
              f: 'mput',
              kvs: [
                [key, value],
                [other, `${value}b`],
              ],
            }
          : { f: 'mget', keys: [key, other] };
      }
    }
  }

  /** Runs one call and records it; false when it did not complete ok. */
  private async execute(client: number, mc: MemberClient, call: Call, leases: ClientLeases): Promise<boolean> {
    const invoke = micros(this.t0);
    const base = { id: 0, client, member: mc.member, call, invoke };
    try {
      const { result, revision } = await this.send(mc, call);
      const complete = micros(this.t0);
      this.history.push({
        ...base,
        id: this.history.length,
        complete,
        outcome: 'ok',
        result,
        ...(revision === undefined ? {} : { revision }),
      });
      this.countOk();
      leases.observe(call, result, false);
      if (result.f === 'get' && call.f === 'get' && !call.serializable) this.lastSeen.set(call.key, result.value);
      if (result.f === 'mget' && call.f === 'mget') call.keys.forEach((k, i) => this.lastSeen.set(k, result.values[i] ?? null));
      return true;
    } catch (err) {
      const complete = micros(this.t0);
      if (!isServiceError(err)) throw err;
      leases.observe(call, undefined, err.code === status.NOT_FOUND);
      this.history.push({
        ...base,
        id: this.history.length,
        complete,
        outcome: outcomeOf(call, err.code, err.details),
        error: `${status[err.code] ?? err.code} ${err.details}`,
      });
      return false;
    }
  }

  private async send(mc: MemberClient, call: Call): Promise<{ result: Result; revision?: number }> {
    const t = this.options.opTimeoutMs;
    switch (call.f) {
      case 'grant':
      case 'lput':
      case 'revoke':
      case 'keepalive':
        return sendLeaseCall(mc, call, t);
      case 'put': {
        const r = await mc.put({ key: b(call.key), value: b(call.value) }, t);
        return { result: { f: 'put' }, revision: r.header!.revision };
      }
      case 'get': {
        const r = await mc.range({ key: b(call.key), serializable: call.serializable }, t);
        const kv = r.kvs[0];
        return { result: { f: 'get', value: str(kv?.value), modRevision: kv?.modRevision ?? 0 }, revision: r.header!.revision };
      }
      case 'delete': {
        const r = await mc.deleteRange({ key: b(call.key) }, t);
        return { result: { f: 'delete', deleted: r.deleted }, revision: r.header!.revision };
      }
      case 'cas': {
        const compare =
          call.expected === null
            ? {
                key: b(call.key),
                result: Compare_CompareResult.COMPARE_RESULT_EQUAL,
                target: Compare_CompareTarget.COMPARE_TARGET_VERSION,
                targetUnion: { $case: 'version' as const, version: 0 },
              }
            : {
                key: b(call.key),
                result: Compare_CompareResult.COMPARE_RESULT_EQUAL,
                target: Compare_CompareTarget.COMPARE_TARGET_VALUE,
                targetUnion: { $case: 'value' as const, value: b(call.expected) },
              };
        const r = await mc.txn(
          { compare: [compare], success: [{ request: { $case: 'requestPut', requestPut: { key: b(call.key), value: b(call.value) } } }] },
          t,
        );
        return { result: { f: 'cas', succeeded: r.succeeded }, revision: r.header!.revision };
      }
      case 'mput': {
        const lease = call.lease ?? 0;
        const success = call.kvs.map(([k, v]) => ({
          request: { $case: 'requestPut' as const, requestPut: { key: b(k), value: b(v), lease } },
        }));
        const r = await mc.txn({ success }, t);
        return { result: { f: 'mput' }, revision: r.header!.revision };
      }
      case 'mget': {
        const success = call.keys.map((k) => ({ request: { $case: 'requestRange' as const, requestRange: { key: b(k) } } }));
        const r = await mc.txn({ success }, t);
        const values = r.responses.map((op) =>
          op.response?.$case === 'responseRange' ? str(op.response.responseRange.kvs[0]?.value) : null,
        );
        return { result: { f: 'mget', values }, revision: r.header!.revision };
      }
    }
  }
}

/** Two different keys (in a random order). */
function twoOf(rng: Rng, keys: readonly string[]): [string, string] {
  const first = rng.pick(keys);
  return [first, rng.pick(keys.filter((k) => k !== first))];
}

/**
 * Reads change nothing, so a failed read is simply failed. A write whose request never left
 * the client (no connection) is definitely not applied, nor is a lease put or revoke refused
 * with NOT_FOUND (the lease is gone; the server changes nothing); any other error may hide
 * a commit. A keep-alive that errored may still have renewed.
 */
function outcomeOf(call: Call, code: status, details: string): Outcome {
  if (call.f === 'get' || call.f === 'mget') return 'failed';
  if (call.f === 'keepalive') return 'unknown';
  if (code === status.UNAVAILABLE && /No connection established|ECONNREFUSED/.test(details)) return 'failed';
  const onLease = call.f === 'lput' || call.f === 'revoke' || (call.f === 'mput' && call.lease !== undefined);
  if (onLease && code === status.NOT_FOUND) return 'failed';
  return 'unknown';
}
