/**
 * Randomized model test: a seeded PRNG drives puts, deletes, transactions (nested, with
 * compares and in-txn reads), compactions, concurrent batches and restarts against the real
 * store, and checks every answer, reads at current and past revisions, and readEvents
 * against a plain in-memory model of the full history.
 *
 * Replay a failure with MODEL_SEED=<seed printed by the failing test>; MODEL_OPS=n changes
 * the number of steps per engine.
 */
import test, { type ExecutionContext } from 'ava';
import type { Command } from '../../gen/ts/cairn/internal/v1/command.js';
import {
  Compare_CompareResult as Result,
  Compare_CompareTarget as Target,
  RangeRequest_SortOrder as SortOrder,
  RangeRequest_SortTarget as SortTarget,
  TxnRequest,
  type Compare,
  type RequestOp,
  type ResponseOp,
} from '../../gen/ts/cairn/v1/kv.js';
import { Event_EventType, type KeyValue } from '../../gen/ts/cairn/v1/types.js';
import type { CommandOutcome } from '../../server/apply/outcome.js';
import { ENGINE_NAMES } from '../../server/config.js';
import { CairnError, ErrorCode, type DomainErrorCode } from '../../server/errors.js';
import { prefixEnd } from '../../server/mvcc/key-range.js';
import { EMPTY_STORE_REVISION } from '../../server/mvcc/revision.js';
import { MVCC_SPAN, parseRevisionKey } from '../../server/mvcc/schema.js';
import { b, compactCmd, delCmd, putCmd, TestStore } from '../helpers/mvcc-store.js';
import { seededRandom } from '../sim/prng.js';

const KEYS = ['a', 'ab', 'abc', 'b', 'ba', 'c', 'd', '\xff'];
const PREFIXES = ['a', 'ab', 'b', '\xff', 'x'];
const STEPS = Number(process.env['MODEL_OPS'] ?? 3000);

// ---- PRNG ----

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  float(): number {
    return this.next();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---- the model ----

interface MKV {
  key: string;
  value: string;
  create: number;
  mod: number;
  version: number;
}
type State = Map<string, MKV>;
interface MEvent {
  type: 'put' | 'del';
  key: string;
  kv: MKV | undefined; // the put's kv
  mod: number;
  /** The previous change of the key when it was a put (before compaction is considered). */
  prev: MKV | undefined;
}
interface Sel {
  start: string;
  end: string; // '' single key; '\0' from key; else exclusive end
}

const inSel = (sel: Sel, key: string) => (sel.end === '' ? key === sel.start : key >= sel.start && (sel.end === '\0' || key < sel.end));
const sortedKeys = (state: State) => [...state.keys()].sort();

class Model {
  /** history[r]: the state after revision r; a fresh store is at EMPTY_STORE_REVISION, with no key. */
  readonly history: State[] = Array.from({ length: EMPTY_STORE_REVISION + 1 }, () => new Map<string, MKV>());
  /** events[r]: the changes of revision r, in order. */
  readonly events: MEvent[][] = Array.from({ length: EMPTY_STORE_REVISION + 1 }, () => []);
  compacted = 0;
  /** The last change of each key (put or delete), for prev of the next event. */
  private readonly lastChange = new Map<string, MKV | undefined>();

  get rev(): number {
    return this.history.length - 1;
  }
  state(rev = this.rev): State {
    return this.history[rev]!;
  }
  commit(state: State, events: MEvent[]): void {
    this.history.push(state);
    this.events.push(events);
  }
  prevOf(key: string): MKV | undefined {
    return this.lastChange.get(key);
  }
  recordChange(key: string, kv: MKV | undefined): void {
    this.lastChange.set(key, kv);
  }
}

class Fail extends Error {
  constructor(readonly code: DomainErrorCode) {
    super(ErrorCode[code]);
  }
}

/** A write in progress against the model: the working state of one command. */
class ModelTxn {
  readonly working: State;
  readonly events: MEvent[] = [];
  /** Per-key last change inside this txn, layered over the model's. */
  private readonly changes = new Map<string, MKV | undefined>();
  constructor(readonly model: Model) {
    this.working = new Map(model.state());
  }
  get base(): number {
    return this.model.rev;
  }
  get main(): number {
    return this.model.rev + 1;
  }
  get changed(): boolean {
    return this.events.length > 0;
  }
  private prevOf(key: string): MKV | undefined {
    return this.changes.has(key) ? this.changes.get(key) : this.model.prevOf(key);
  }
  put(key: string, value: string, prevKv: boolean, ignoreValue: boolean, lease: number, ignoreLease = false): MKV | undefined {
    if (lease !== 0) throw new Fail(ErrorCode.ERROR_CODE_LEASE_NOT_FOUND);
    const existing = this.working.get(key);
    if ((ignoreValue || ignoreLease) && existing === undefined) throw new Fail(ErrorCode.ERROR_CODE_KEY_NOT_FOUND);
    const kv: MKV = {
      key,
      value: ignoreValue ? existing!.value : value,
      create: existing?.create ?? this.main,
      mod: this.main,
      version: (existing?.version ?? 0) + 1,
    };
    this.working.set(key, kv);
    this.events.push({ type: 'put', key, kv, mod: this.main, prev: this.prevOf(key) });
    this.changes.set(key, kv);
    return prevKv ? existing : undefined;
  }
  del(sel: Sel, prevKv: boolean): { deleted: number; prevKvs: MKV[] } {
    const victims = sortedKeys(this.working).filter((k) => inSel(sel, k));
    const prevKvs: MKV[] = [];
    for (const key of victims) {
      const kv = this.working.get(key)!;
      prevKvs.push(kv);
      this.working.delete(key);
      this.events.push({ type: 'del', key, kv: undefined, mod: this.main, prev: this.prevOf(key) });
      this.changes.set(key, undefined);
    }
    return { deleted: victims.length, prevKvs: prevKv ? prevKvs : [] };
  }
  finish(): void {
    if (!this.changed) return;
    for (const [key, kv] of this.changes) this.model.recordChange(key, kv);
    this.model.commit(this.working, this.events);
  }
}

interface RangeOpts {
  revision: number;
  limit: number;
  keysOnly: boolean;
  countOnly: boolean;
  sortTarget: SortTarget;
  sortOrder: SortOrder;
}

function modelRange(state: State, sel: Sel, o: RangeOpts) {
  const all = sortedKeys(state)
    .filter((k) => inSel(sel, k))
    .map((k) => state.get(k)!);
  const count = all.length;
  if (o.countOnly) return { kvs: [] as MKV[], more: false, count };
  return { kvs: all, more: o.limit > 0 && count > o.limit, count };
}

const sortField = (target: SortTarget, kv: MKV): string | number => {
  switch (target) {
    case SortTarget.SORT_TARGET_VERSION:
      return kv.version;
    case SortTarget.SORT_TARGET_CREATE:
      return kv.create;
    case SortTarget.SORT_TARGET_MOD:
      return kv.mod;
    case SortTarget.SORT_TARGET_VALUE:
      return Buffer.from(kv.value, 'latin1').toString('hex');
    default:
      return kv.key;
  }
};

const fromKv = (kv: KeyValue): MKV => ({
  key: kv.key.toString('latin1'),
  value: kv.value.toString('latin1'),
  create: kv.createRevision,
  mod: kv.modRevision,
  version: kv.version,
});

/**
 * Compares a real range answer with the model. Key-sorted answers must match exactly; for
 * other sort targets the sequence of sort fields must match (ties may come in any order) and
 * every returned kv must be the model's.
 */
function checkRange(
  t: ExecutionContext,
  label: string,
  actual: { kvs: KeyValue[]; more: boolean; count: number },
  state: State,
  sel: Sel,
  o: RangeOpts,
): boolean {
  const expected = modelRange(state, sel, o);
  let ok = true;
  const fail = (what: string, a: unknown, e: unknown) => {
    ok = false;
    t.deepEqual(a, e, `${label}: ${what}`);
  };
  if (actual.count !== expected.count) fail('count', actual.count, expected.count);
  if (actual.more !== expected.more) fail('more', actual.more, expected.more);
  if (actual.kvs.some((kv) => kv.lease !== 0))
    fail(
      'lease',
      actual.kvs.map((kv) => kv.lease),
      [],
    );
  const got = actual.kvs.map(fromKv);
  if (o.countOnly) {
    if (got.length !== 0) fail('count_only kvs', got, []);
    return ok;
  }
  const byKey = o.sortTarget === SortTarget.SORT_TARGET_KEY || o.sortTarget === SortTarget.SORT_TARGET_UNSPECIFIED;
  let want = expected.kvs;
  const dir = o.sortOrder === SortOrder.SORT_ORDER_DESCEND ? -1 : 1;
  if (byKey) {
    if (dir === -1) want = [...want].reverse();
  } else {
    want = [...want].sort((x, y) => {
      const fx = sortField(o.sortTarget, x);
      const fy = sortField(o.sortTarget, y);
      return dir * (fx < fy ? -1 : fx > fy ? 1 : 0);
    });
  }
  if (o.limit > 0) want = want.slice(0, o.limit);
  const strip = (kv: MKV) => (o.keysOnly ? { ...kv, value: '' } : kv);
  if (byKey) {
    if (JSON.stringify(got) !== JSON.stringify(want.map(strip))) fail('kvs', got, want.map(strip));
  } else {
    const fields = (kvs: MKV[]) => kvs.map((kv) => sortField(o.sortTarget, kv));
    if (JSON.stringify(fields(got.map((kv) => (o.keysOnly ? (state.get(kv.key) ?? kv) : kv)))) !== JSON.stringify(fields(want))) {
      fail('sorted fields', got, want.map(strip));
    }
    for (const kv of got) {
      const m = state.get(kv.key);
      if (m === undefined || JSON.stringify(kv) !== JSON.stringify(strip(m))) fail(`kv ${kv.key}`, kv, m && strip(m));
    }
  }
  return ok;
}

// ---- random requests ----

function randomSel(rng: Rng): Sel {
  switch (rng.int(0, 5)) {
    case 0:
    case 1:
      return { start: rng.chance(0.9) ? rng.pick(KEYS) : 'zz', end: '' };
    case 2: {
      const x = rng.pick(KEYS);
      const y = rng.pick([...KEYS, 'bb', 'e', '\xff\xff']);
      return x <= y ? { start: x, end: y } : { start: y, end: x };
    }
    case 3: {
      const p = rng.pick(PREFIXES);
      return { start: p, end: prefixEnd(b(p)).toString('latin1') };
    }
    case 4:
      return { start: rng.pick(['', ...KEYS]), end: '\0' };
    default:
      return { start: '', end: '\0' };
  }
}

function randomRangeOpts(rng: Rng, revision: number): RangeOpts {
  const sorted = rng.chance(0.25);
  return {
    revision,
    limit: rng.chance(0.3) ? rng.int(1, 4) : 0,
    keysOnly: rng.chance(0.1),
    countOnly: rng.chance(0.05),
    sortTarget: sorted
      ? rng.pick([
          SortTarget.SORT_TARGET_KEY,
          SortTarget.SORT_TARGET_VERSION,
          SortTarget.SORT_TARGET_CREATE,
          SortTarget.SORT_TARGET_MOD,
          SortTarget.SORT_TARGET_VALUE,
        ])
      : SortTarget.SORT_TARGET_UNSPECIFIED,
    sortOrder: sorted
      ? rng.pick([SortOrder.SORT_ORDER_UNSPECIFIED, SortOrder.SORT_ORDER_ASCEND, SortOrder.SORT_ORDER_DESCEND])
      : SortOrder.SORT_ORDER_UNSPECIFIED,
  };
}

const randomValue = (rng: Rng): string => (rng.chance(0.1) ? '' : rng.pick(['x', 'y', 'z', 'xx', 'a\0', '\xfe']) + rng.int(0, 9));

function randomCompare(rng: Rng, model: Model): Compare {
  const state = model.state();
  const key = rng.pick([...KEYS, 'zz']);
  const current = state.get(key);
  const target = rng.pick([
    Target.COMPARE_TARGET_VALUE,
    Target.COMPARE_TARGET_VERSION,
    Target.COMPARE_TARGET_CREATE,
    Target.COMPARE_TARGET_MOD,
    Target.COMPARE_TARGET_LEASE,
  ]);
  const result = rng.pick([
    Result.COMPARE_RESULT_EQUAL,
    Result.COMPARE_RESULT_NOT_EQUAL,
    Result.COMPARE_RESULT_GREATER,
    Result.COMPARE_RESULT_LESS,
  ]);
  const near = (n: number) => Math.max(0, n + rng.int(-1, 1));
  let targetUnion: Compare['targetUnion'];
  switch (target) {
    case Target.COMPARE_TARGET_VALUE:
      targetUnion = { $case: 'value', value: b(rng.chance(0.5) && current ? current.value : randomValue(rng)) };
      break;
    case Target.COMPARE_TARGET_VERSION:
      targetUnion = { $case: 'version', version: near(current?.version ?? 0) };
      break;
    case Target.COMPARE_TARGET_CREATE:
      targetUnion = { $case: 'createRevision', createRevision: near(current?.create ?? 0) };
      break;
    case Target.COMPARE_TARGET_MOD:
      targetUnion = { $case: 'modRevision', modRevision: near(current?.mod ?? 0) };
      break;
    default:
      targetUnion = { $case: 'lease', lease: rng.int(0, 1) };
  }
  const ranged = rng.chance(0.2);
  const sel = ranged ? randomSel(rng) : { start: key, end: '' };
  return { target, result, key: b(sel.start), targetUnion, rangeEnd: b(sel.end) };
}

function compareHoldsModel(c: Compare, state: State): boolean {
  const sel: Sel = { start: c.key.toString('latin1'), end: c.rangeEnd.toString('latin1') };
  const kvs = sortedKeys(state)
    .filter((k) => inSel(sel, k))
    .map((k) => state.get(k)!);
  const one = (kv: MKV | undefined): boolean => {
    let order: number;
    const u = c.targetUnion!;
    switch (u.$case) {
      case 'value':
        if (kv === undefined) return false;
        order = Buffer.compare(b(kv.value), u.value);
        break;
      case 'version':
        order = Math.sign((kv?.version ?? 0) - u.version);
        break;
      case 'createRevision':
        order = Math.sign((kv?.create ?? 0) - u.createRevision);
        break;
      case 'modRevision':
        order = Math.sign((kv?.mod ?? 0) - u.modRevision);
        break;
      case 'lease':
        order = Math.sign(0 - u.lease);
        break;
    }
    switch (c.result) {
      case Result.COMPARE_RESULT_EQUAL:
        return order === 0;
      case Result.COMPARE_RESULT_NOT_EQUAL:
        return order !== 0;
      case Result.COMPARE_RESULT_GREATER:
        return order > 0;
      default:
        return order < 0;
    }
  };
  return kvs.length === 0 ? one(undefined) : kvs.every(one);
}

type Op = RequestOp;

function randomOps(rng: Rng, model: Model, depth: number, n: number): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    const roll = rng.float();
    if (roll < 0.4) {
      ops.push({
        request: {
          $case: 'requestPut',
          requestPut: {
            key: b(rng.pick(KEYS)),
            value: b(randomValue(rng)),
            lease: rng.chance(0.02) ? 7 : 0,
            prevKv: rng.chance(0.5),
            ignoreValue: rng.chance(0.08),
            ignoreLease: rng.chance(0.05),
          },
        },
      });
    } else if (roll < 0.6) {
      const sel = randomSel(rng);
      ops.push({
        request: { $case: 'requestDeleteRange', requestDeleteRange: { key: b(sel.start), rangeEnd: b(sel.end), prevKv: rng.chance(0.5) } },
      });
    } else if (roll < 0.9 || depth >= 2) {
      const sel = randomSel(rng);
      const revision = rng.chance(0.7) ? 0 : rng.int(Math.max(1, model.compacted - 1), model.rev + (rng.chance(0.1) ? 1 : 0));
      const o = randomRangeOpts(rng, Math.max(0, revision));
      ops.push({
        request: {
          $case: 'requestRange',
          requestRange: { key: b(sel.start), rangeEnd: b(sel.end), serializable: false, maxStalenessMs: 0, ...o },
        },
      });
    } else {
      ops.push({ request: { $case: 'requestTxn', requestTxn: randomTxn(rng, model, depth + 1) } });
    }
  }
  return ops;
}

function randomTxn(rng: Rng, model: Model, depth = 0): TxnRequest {
  return TxnRequest.fromPartial({
    compare: Array.from({ length: rng.int(0, 2) }, () => randomCompare(rng, model)),
    success: randomOps(rng, model, depth, rng.int(0, 4)),
    failure: randomOps(rng, model, depth, rng.int(0, 3)),
  });
}

// Expected txn responses, normalized.
type NResp =
  | { range: { kvs: MKV[]; more: boolean; count: number } | string }
  | { put: MKV | undefined }
  | { del: { deleted: number; prevKvs: MKV[] } }
  | { txn: { succeeded: boolean; responses: NResp[] } };

interface TxnPlanM {
  succeeded: boolean;
  ops: Op[];
  nested: Map<TxnRequest, TxnPlanM>;
}

function planModel(req: TxnRequest, base: State): TxnPlanM {
  const succeeded = req.compare.every((c) => compareHoldsModel(c, base));
  const ops = succeeded ? req.success : req.failure;
  const nested = new Map<TxnRequest, TxnPlanM>();
  for (const op of ops) if (op.request?.$case === 'requestTxn') nested.set(op.request.requestTxn, planModel(op.request.requestTxn, base));
  return { succeeded, ops, nested };
}

/** Executes a planned txn on the model; a Fail means the whole command changes nothing. */
function execModel(mt: ModelTxn, plan: TxnPlanM, ranges: { state: State; sel: Sel; o: RangeOpts }[]): NResp[] {
  const out: NResp[] = [];
  for (const op of plan.ops) {
    const r = op.request!;
    switch (r.$case) {
      case 'requestPut': {
        const p = r.requestPut;
        out.push({ put: mt.put(p.key.toString('latin1'), p.value.toString('latin1'), p.prevKv, p.ignoreValue, p.lease, p.ignoreLease) });
        break;
      }
      case 'requestDeleteRange': {
        const d = r.requestDeleteRange;
        out.push({ del: mt.del({ start: d.key.toString('latin1'), end: d.rangeEnd.toString('latin1') }, d.prevKv) });
        break;
      }
      case 'requestRange': {
        const q = r.requestRange;
        if (q.revision > mt.base) throw new Fail(ErrorCode.ERROR_CODE_FUTURE_REVISION);
        if (q.revision > 0 && q.revision < mt.model.compacted) throw new Fail(ErrorCode.ERROR_CODE_COMPACTED);
        const state = q.revision > 0 ? mt.model.state(q.revision) : new Map(mt.working);
        const sel = { start: q.key.toString('latin1'), end: q.rangeEnd.toString('latin1') };
        // Checked with checkRange after the fact (sorting ties are free).
        ranges.push({ state, sel, o: q });
        out.push({ range: `#${ranges.length - 1}` });
        break;
      }
      case 'requestTxn': {
        const nested = plan.nested.get(r.requestTxn)!;
        out.push({ txn: { succeeded: nested.succeeded, responses: execModel(mt, nested, ranges) } });
        break;
      }
    }
  }
  return out;
}

function normalizeResponses(responses: ResponseOp[], ranges: { kvs: KeyValue[]; more: boolean; count: number }[]): NResp[] {
  return responses.map((op): NResp => {
    const r = op.response!;
    switch (r.$case) {
      case 'responsePut':
        return { put: r.responsePut.prevKv && fromKv(r.responsePut.prevKv) };
      case 'responseDeleteRange':
        return { del: { deleted: r.responseDeleteRange.deleted, prevKvs: r.responseDeleteRange.prevKvs.map(fromKv) } };
      case 'responseRange':
        ranges.push(r.responseRange);
        return { range: `#${ranges.length - 1}` };
      case 'responseTxn':
        return { txn: { succeeded: r.responseTxn.succeeded, responses: normalizeResponses(r.responseTxn.responses, ranges) } };
    }
  });
}

/** Applies one command to the model; returns a checker for the real outcome. */
function applyToModel(model: Model, cmd: Command): (t: ExecutionContext, label: string, outcome: CommandOutcome) => void {
  const req = cmd.request!;
  const mt = new ModelTxn(model);
  const expectError = (code: DomainErrorCode) => (t: ExecutionContext, label: string, outcome: CommandOutcome) => {
    if (outcome.ok) t.fail(`${label}: expected ${code}, got success ${JSON.stringify(outcome.response)}`);
    else t.is(outcome.error.code, code, `${label}: ${outcome.error.message}`);
  };
  const expectHeader = (
    t: ExecutionContext,
    label: string,
    outcome: CommandOutcome,
    rev: number,
  ): outcome is Extract<CommandOutcome, { ok: true }> => {
    if (!outcome.ok) {
      t.fail(`${label}: unexpected ${outcome.error.code}: ${outcome.error.message}`);
      return false;
    }
    t.is(outcome.response.header?.revision, rev, `${label}: header revision`);
    return true;
  };
  try {
    switch (req.$case) {
      case 'put': {
        const p = req.put;
        const prev = mt.put(p.key.toString('latin1'), p.value.toString('latin1'), p.prevKv, p.ignoreValue, p.lease, p.ignoreLease);
        mt.finish();
        const rev = model.rev;
        return (t, label, outcome) => {
          if (!expectHeader(t, label, outcome, rev)) return;
          const got = (outcome.response as { prevKv?: KeyValue }).prevKv;
          t.deepEqual(got && fromKv(got), prev, `${label}: prev_kv`);
        };
      }
      case 'deleteRange': {
        const d = req.deleteRange;
        const res = mt.del({ start: d.key.toString('latin1'), end: d.rangeEnd.toString('latin1') }, d.prevKv);
        mt.finish();
        const rev = model.rev;
        return (t, label, outcome) => {
          if (!expectHeader(t, label, outcome, rev)) return;
          const got = outcome.response as { deleted: number; prevKvs: KeyValue[] };
          t.deepEqual({ deleted: got.deleted, prevKvs: got.prevKvs.map(fromKv) }, res, `${label}: delete`);
        };
      }
      case 'compact': {
        const r = req.compact.revision;
        if (r > model.rev) throw new Fail(ErrorCode.ERROR_CODE_FUTURE_REVISION);
        if (r <= model.compacted) throw new Fail(ErrorCode.ERROR_CODE_COMPACTED);
        model.compacted = r;
        const rev = model.rev;
        return (t, label, outcome) => void expectHeader(t, label, outcome, rev);
      }
      case 'txn': {
        const plan = planModel(req.txn, model.state());
        const ranges: { state: State; sel: Sel; o: RangeOpts }[] = [];
        const responses = execModel(mt, plan, ranges);
        mt.finish();
        const rev = model.rev;
        return (t, label, outcome) => {
          if (!expectHeader(t, label, outcome, rev)) return;
          const res = outcome.response as { succeeded: boolean; responses: ResponseOp[] };
          t.is(res.succeeded, plan.succeeded, `${label}: succeeded`);
          const actualRanges: { kvs: KeyValue[]; more: boolean; count: number }[] = [];
          t.deepEqual(normalizeResponses(res.responses, actualRanges), responses, `${label}: responses`);
          actualRanges.forEach((a, i) => {
            const e = ranges[i];
            if (e !== undefined) checkRange(t, `${label}: txn range #${i}`, a, e.state, e.sel, e.o);
          });
        };
      }
      default:
        throw new Error(`the model does not generate ${req.$case} commands`);
    }
  } catch (err) {
    if (err instanceof Fail) return expectError(err.code);
    throw err;
  }
}

function randomCommand(rng: Rng, model: Model): Command {
  const roll = rng.float();
  if (roll < 0.4) {
    return putCmd(rng.pick(KEYS), randomValue(rng), {
      prevKv: rng.chance(0.5),
      ignoreValue: rng.chance(0.04),
      ignoreLease: rng.chance(0.03),
      lease: rng.chance(0.02) ? 3 : 0,
    });
  }
  if (roll < 0.6) {
    const sel = rng.chance(0.6) ? { start: rng.pick(KEYS), end: '' } : randomSel(rng);
    return delCmd(sel.start, sel.end, rng.chance(0.5));
  }
  if (roll < 0.985) return { request: { $case: 'txn', txn: randomTxn(rng, model) }, checkedAs: '' };
  // Compaction: mostly valid, sometimes at or below the compacted revision or in the future.
  const lo = model.compacted + 1;
  const revision = rng.chance(0.85) && lo <= model.rev ? rng.int(lo, Math.min(model.rev, lo + 150)) : rng.int(0, model.rev + 2);
  return compactCmd(revision);
}

async function checkRead(t: ExecutionContext, rng: Rng, ts: TestStore, model: Model, label: string): Promise<boolean> {
  const sel = randomSel(rng);
  const lo = Math.max(1, model.compacted);
  let revision = rng.chance(0.4) ? 0 : model.rev === 0 ? 0 : rng.int(lo, model.rev);
  if (rng.chance(0.05)) revision = model.rev + rng.int(1, 3);
  if (rng.chance(0.05) && model.compacted > 1) revision = rng.int(1, model.compacted - 1);
  const o = randomRangeOpts(rng, revision);
  const req = { key: b(sel.start), rangeEnd: b(sel.end), ...o };
  const what = `${label}: range ${JSON.stringify(sel)} ${JSON.stringify(o)}`;
  if (revision > model.rev || (revision > 0 && revision < model.compacted)) {
    const code = revision > model.rev ? ErrorCode.ERROR_CODE_FUTURE_REVISION : ErrorCode.ERROR_CODE_COMPACTED;
    const err = await t.throwsAsync(ts.store.range(req as never), { instanceOf: CairnError }, what);
    return err !== undefined && err.code === code;
  }
  const actual = await ts.range(sel.start, sel.end, o);
  t.is(actual.revision, model.rev, `${what}: header`);
  return checkRange(t, what, actual, model.state(revision || model.rev), sel, o);
}

async function checkEvents(t: ExecutionContext, rng: Rng, ts: TestStore, model: Model, label: string): Promise<void> {
  // Revisions up to the empty store's have no events to read.
  if (model.rev === EMPTY_STORE_REVISION) return;
  const from = rng.int(Math.max(EMPTY_STORE_REVISION + 1, model.compacted), model.rev);
  const to = Math.min(model.rev, from + rng.int(0, 15));
  const { revisions, through } = await ts.store.readEvents(from, to, 1e9, true);
  t.is(through, to, `${label}: readEvents through`);
  const describe = (type: string, key: string, kv: MKV | undefined, mod: number, prev: MKV | undefined) =>
    JSON.stringify({ type, key, kv, mod, prev });
  const actual = revisions.map((r) => ({
    revision: r.revision,
    events: r.events.map((e) =>
      describe(
        e.type === Event_EventType.EVENT_TYPE_PUT ? 'put' : 'del',
        e.kv!.key.toString('latin1'),
        e.type === Event_EventType.EVENT_TYPE_PUT ? fromKv(e.kv!) : undefined,
        e.kv!.modRevision,
        e.prevKv && fromKv(e.prevKv),
      ),
    ),
  }));
  const expected = [];
  for (let rev = from; rev <= to; rev++) {
    // A previous version older than the compacted revision is gone from history: an event at
    // exactly the compacted revision has none.
    expected.push({
      revision: rev,
      events: model.events[rev]!.map((e) => describe(e.type, e.key, e.kv, e.mod, rev === model.compacted ? undefined : e.prev)),
    });
  }
  t.deepEqual(actual, expected, `${label}: readEvents ${from}..${to}`);
}

/** After physical compaction, storage holds exactly what reads at or after the compaction need. */
async function checkStorage(t: ExecutionContext, ts: TestStore, model: Model, label: string): Promise<void> {
  const r = model.compacted;
  if (r > 0) await ts.store.compactionSettled(r);
  const below: number[] = [];
  let atOrAbove = 0;
  for await (const [key] of ts.engine.scan(MVCC_SPAN)) {
    const { rev } = parseRevisionKey(key);
    if (rev.main < r) below.push(rev.main);
    else atOrAbove++;
  }
  const wantBelow = r === 0 ? [] : [...model.state(r).values()].map((kv) => kv.mod).filter((m) => m < r);
  t.deepEqual(
    below.sort((x, y) => x - y),
    wantBelow.sort((x, y) => x - y),
    `${label}: stored versions below compacted ${r}`,
  );
  let events = 0;
  for (let rev = Math.max(r, 1); rev <= model.rev; rev++) events += model.events[rev]!.length;
  t.is(atOrAbove, events, `${label}: stored changes at or after ${r}`);
}

for (const engine of ENGINE_NAMES) {
  test(`${engine}: random operations match the reference model`, async (t) => {
    const seed = process.env['MODEL_SEED'] !== undefined ? Number(process.env['MODEL_SEED']) : Math.floor(Math.random() * 2 ** 31);
    t.log(`seed ${seed} (replay with MODEL_SEED=${seed}), ${STEPS} steps`);
    const rng = new Rng(seed);
    const model = new Model();
    const ts = await TestStore.create(engine);
    let failures = 0;
    try {
      for (let step = 0; step < STEPS && failures === 0; step++) {
        const label = `seed ${seed} step ${step}`;
        const before = t.passed;
        if (rng.chance(0.15)) {
          // A group of commands submitted together: one batch, applied in order.
          const cmds = Array.from({ length: rng.int(2, 6) }, () => randomCommand(rng, model));
          const checks = cmds.map((c) => applyToModel(model, c));
          const outcomes = await Promise.all(cmds.map((c) => ts.submit(c)));
          outcomes.forEach((o, i) => checks[i]!(t, `${label}.${i} ${JSON.stringify(cmds[i])}`, o));
        } else {
          const cmd = randomCommand(rng, model);
          const check = applyToModel(model, cmd);
          check(t, `${label} ${JSON.stringify(cmd)}`, await ts.submit(cmd));
        }
        t.is(ts.store.currentRevision, model.rev, `${label}: current revision`);
        t.is(ts.store.compactedRevision, model.compacted, `${label}: compacted revision`);
        if (!(await checkRead(t, rng, ts, model, label))) failures++;
        if (rng.chance(0.1)) await checkEvents(t, rng, ts, model, label);
        if (rng.chance(0.004)) {
          await ts.reopen();
          t.is(ts.store.currentRevision, model.rev, `${label}: current revision after reopen`);
        }
        if (!before || !t.passed) failures++;
        t.deepEqual(ts.fatal, [], `${label}: no fatal error`);
      }
      // Every readable revision, then once more after a restart, then storage itself.
      const full = async (label: string) => {
        for (let rev = Math.max(1, model.compacted); rev <= model.rev; rev++) {
          const o = randomRangeOpts(new Rng(rev), rev);
          const all = { start: '', end: '\0' };
          const actual = await ts.range('', '\0', { revision: rev });
          if (
            !checkRange(t, `${label} rev ${rev}`, actual, model.state(rev), all, {
              ...o,
              limit: 0,
              countOnly: false,
              keysOnly: false,
              sortTarget: 0,
              sortOrder: 0,
            })
          )
            break;
        }
      };
      await full(`seed ${seed} final`);
      await checkStorage(t, ts, model, `seed ${seed} final`);
      await ts.reopen();
      t.is(ts.store.currentRevision, model.rev);
      t.is(ts.store.compactedRevision, model.compacted);
      await full(`seed ${seed} after reopen`);
      await checkEvents(t, rng, ts, model, `seed ${seed} after reopen`);
      // Writes after the restart continue versions and create revisions.
      for (const key of KEYS) {
        const cmd = putCmd(key, 'final', { prevKv: true });
        applyToModel(model, cmd)(t, `seed ${seed} final put ${key}`, await ts.submit(cmd));
      }
      await full(`seed ${seed} final puts`);
      t.log(`${model.rev} revisions, compacted at ${model.compacted}`);
    } finally {
      await ts.destroy();
    }
  });
}
