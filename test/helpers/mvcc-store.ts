/**
 * A single-node MVCC store in a temporary directory, driven through the real write path
 * (Applier + LocalWriter), for store and model tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import {
  CompactRequest,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  TxnRequest,
  type CompactResponse,
  type DeepPartial,
  type DeleteRangeResponse,
  type PutResponse,
  type TxnResponse,
} from '../../gen/ts/cairn/v1/kv.js';
import { ResponseHeader } from '../../gen/ts/cairn/v1/types.js';
import { Applier } from '../../server/apply/applier.js';
import { AlarmStore } from '../../server/apply/alarm-store.js';
import { AuthStore } from '../../server/apply/auth/auth-store.js';
import { LocalWriter } from './local-writer.js';
import type { CommandOutcome } from '../../server/apply/outcome.js';
import type { EngineName } from '../../server/config.js';
import type { CairnError } from '../../server/errors.js';
import { MvccStore } from '../../server/mvcc/kv-store.js';
import { openEngine } from '../../server/storage/open-engine.js';
import type { StorageEngine } from '../../server/storage/engine.js';

export const header = (revision: number): ResponseHeader => ResponseHeader.fromPartial({ clusterId: 7, memberId: 1, revision });

export class TestStore {
  fatal: unknown[] = [];
  /** The replicated alarms, loaded from the database like a member does (main.ts). */
  alarms = new AlarmStore();
  private constructor(
    readonly engineName: EngineName,
    readonly dir: string,
    public engine: StorageEngine,
    public store: MvccStore,
    public writer: LocalWriter,
  ) {}

  static async create(engineName: EngineName): Promise<TestStore> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `cairn-mvcc-${engineName}-`));
    const engine = await openEngine(engineName, dir);
    const store = await MvccStore.open(engine);
    const ts = new TestStore(engineName, dir, engine, store, undefined as unknown as LocalWriter);
    await ts.alarms.load(engine);
    ts.writer = ts.newWriter();
    return ts;
  }

  private newWriter(): LocalWriter {
    return new LocalWriter(this.store, new Applier(header, new AuthStore(), this.alarms), (err) => this.fatal.push(err));
  }

  /** Closes everything and opens the same directory again: the index is rebuilt from disk. */
  async reopen(): Promise<void> {
    await this.closeStore();
    this.engine = await openEngine(this.engineName, this.dir);
    this.store = await MvccStore.open(this.engine);
    this.alarms = new AlarmStore();
    await this.alarms.load(this.engine);
    this.writer = this.newWriter();
  }

  private async closeStore(): Promise<void> {
    await this.writer.close();
    await this.store.close();
    await this.engine.close();
  }

  async destroy(): Promise<void> {
    await this.closeStore().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  submit(command: Command): Promise<CommandOutcome> {
    return this.writer.submit(command);
  }

  async ok<T>(command: Command): Promise<T> {
    const outcome = await this.submit(command);
    if (!outcome.ok) throw new Error(`unexpected failure: ${outcome.error.code} ${outcome.error.message}`);
    return outcome.response as T;
  }

  async fails(command: Command): Promise<CairnError> {
    const outcome = await this.submit(command);
    if (outcome.ok) throw new Error(`unexpected success: ${JSON.stringify(outcome.response)}`);
    return outcome.error;
  }

  put(key: string, value: string, extra: Omit<DeepPartial<PutRequest>, 'key' | 'value'> = {}): Promise<PutResponse> {
    return this.ok(putCmd(key, value, extra));
  }

  del(key: string, rangeEnd = '', prevKv = false): Promise<DeleteRangeResponse> {
    return this.ok(delCmd(key, rangeEnd, prevKv));
  }

  txn(req: DeepPartial<TxnRequest>): Promise<TxnResponse> {
    return this.ok({ request: { $case: 'txn', txn: TxnRequest.fromPartial(req) }, checkedAs: '' });
  }

  compact(revision: number): Promise<CompactResponse> {
    return this.ok(compactCmd(revision));
  }

  range(key: string, rangeEnd = '', extra: Omit<DeepPartial<RangeRequest>, 'key' | 'rangeEnd'> = {}) {
    return this.store.range(RangeRequest.fromPartial({ key: b(key), rangeEnd: b(rangeEnd), ...extra }));
  }
}

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export function putCmd(key: string, value: string, extra: Omit<DeepPartial<PutRequest>, 'key' | 'value'> = {}): Command {
  return { request: { $case: 'put', put: PutRequest.fromPartial({ key: b(key), value: b(value), ...extra }) }, checkedAs: '' };
}

export function delCmd(key: string, rangeEnd = '', prevKv = false): Command {
  return {
    request: { $case: 'deleteRange', deleteRange: DeleteRangeRequest.fromPartial({ key: b(key), rangeEnd: b(rangeEnd), prevKv }) },
    checkedAs: '',
  };
}

export function compactCmd(revision: number): Command {
  return { request: { $case: 'compact', compact: CompactRequest.fromPartial({ revision }) }, checkedAs: '' };
}
