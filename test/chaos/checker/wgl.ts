/**
 * Wing–Gong linearizability search with Lowe's memoization, for one single-key register.
 *
 * Operations are given with invoke/return times; an op whose outcome is unknown has no
 * return (it may take effect any time after its invoke, or never), so it is optional: the
 * search succeeds once every op WITH a return is linearized.
 */

/** The register's state: a value, or null for "no key". */
export type RegState = string | null;

export interface RegOp {
  /** Index into the caller's op list, for reports. */
  readonly ref: number;
  readonly invoke: number;
  /** Infinity for unknown outcomes. */
  readonly ret: number;
  /** The next state, or undefined when the op cannot take effect in `state`. */
  step(state: RegState): RegState | undefined;
  /**
   * Unknown ops with the same signature have the same effect; since they stay pending forever
   * once invoked, only the earliest-invoked unlinearized one of a group need be tried (this
   * keeps k interchangeable timeouts from costing 2^k subsets).
   */
  readonly signature?: string;
}

export type SearchResult =
  | { readonly kind: 'ok'; readonly steps: number }
  | {
      readonly kind: 'illegal';
      readonly steps: number;
      readonly blocking: readonly number[];
      readonly linearized: number;
      readonly state: RegState;
    }
  | { readonly kind: 'budget'; readonly steps: number };

export interface Budget {
  /** Most search steps (op attempts) before giving up. */
  readonly maxSteps: number;
  /** Wall-clock deadline (Date.now()) before giving up. */
  readonly deadline: number;
}

interface Entry {
  readonly op: number;
  readonly isCall: boolean;
  /** The matching return entry of a call; undefined for unknown ops. */
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

class Bits {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) + 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
}

const sameWords = (a: Uint32Array, b: Uint32Array): boolean => a.every((w, i) => w === b[i]);

export function checkRegister(ops: readonly RegOp[], init: RegState, budget: Budget): SearchResult {
  const n = ops.length;
  // Per-op random words: the linearized set is hashed incrementally by XOR.
  let seed = 0x9e3779b9;
  const rand = (): number => (seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0) >>> 0;
  const h1 = Uint32Array.from(ops, rand);
  const h2 = Uint32Array.from(ops, rand);

  // Previous member of each op's signature group (by invoke), or -1.
  const prevInGroup = new Int32Array(n).fill(-1);
  const lastOfGroup = new Map<string, number>();
  for (const i of [...ops.keys()].sort((a, b) => ops[a]!.invoke - ops[b]!.invoke)) {
    const sig = ops[i]!.signature;
    if (sig === undefined) continue;
    prevInGroup[i] = lastOfGroup.get(sig) ?? -1;
    lastOfGroup.set(sig, i);
  }

  // The event list: calls and returns by time; a call before a return at the same time.
  const events: { op: number; isCall: boolean; t: number }[] = [];
  ops.forEach((op, i) => {
    events.push({ op: i, isCall: true, t: op.invoke });
    if (Number.isFinite(op.ret)) events.push({ op: i, isCall: false, t: op.ret });
  });
  events.sort((a, b) => a.t - b.t || Number(b.isCall) - Number(a.isCall));
  const head: Entry = { op: -1, isCall: false, match: undefined, prev: undefined, next: undefined };
  let tail = head;
  const callOf: Entry[] = [];
  const retOf: Entry[] = [];
  for (const e of events) {
    const entry: Entry = { op: e.op, isCall: e.isCall, match: undefined, prev: tail, next: undefined };
    tail.next = entry;
    tail = entry;
    if (e.isCall) callOf[e.op] = entry;
    else retOf[e.op] = entry;
  }
  for (let i = 0; i < n; i++) if (retOf[i]) callOf[i]!.match = retOf[i];
  let remainingReturns = retOf.filter(Boolean).length;

  const unlink = (e: Entry): void => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
  };
  const relink = (e: Entry): void => {
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };
  // Unlinking the call then its return, and relinking in reverse order, restores the list.
  const lift = (call: Entry): void => {
    unlink(call);
    if (call.match) {
      unlink(call.match);
      remainingReturns--;
    }
  };
  const unlift = (call: Entry): void => {
    if (call.match) {
      relink(call.match);
      remainingReturns++;
    }
    relink(call);
  };

  const linearized = new Bits(n);
  let hash1 = 0;
  let hash2 = 0;
  const seen = new Map<string, Uint32Array[]>();
  /** Records (linearized set, state); false when it was explored before. */
  const remember = (state: RegState): boolean => {
    const key = `${hash1},${hash2},${state === null ? '\u0000nil' : state}`;
    const list = seen.get(key);
    if (list?.some((w) => sameWords(w, linearized.words))) return false;
    const copy = linearized.words.slice();
    if (list) list.push(copy);
    else seen.set(key, [copy]);
    return true;
  };
  const toggle = (i: number): void => {
    hash1 ^= h1[i]!;
    hash2 ^= h2[i]!;
  };

  const stack: { call: Entry; state: RegState }[] = [];
  let state = init;
  let entry = head.next;
  let steps = 0;
  let deepest = -1;
  let deepestReport: { blocking: number[]; state: RegState } = { blocking: [], state: init };
  while (remainingReturns > 0) {
    if (++steps > budget.maxSteps || ((steps & 1023) === 0 && Date.now() > budget.deadline)) return { kind: 'budget', steps };
    if (entry !== undefined && entry.isCall) {
      const i = entry.op;
      const op = ops[i]!;
      const prev = prevInGroup[i]!;
      const next = prev === -1 || linearized.has(prev) ? op.step(state) : undefined;
      if (next !== undefined) {
        linearized.set(i);
        toggle(i);
        if (remember(next)) {
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(i);
        toggle(i);
      }
      entry = entry.next;
      continue;
    }
    // A return (or the end of the list) whose op could not be linearized before it: backtrack.
    if (stack.length > deepest) {
      deepest = stack.length;
      const blocking: number[] = [];
      for (let e = head.next; e !== undefined && blocking.length < 12; e = e.next) if (e.isCall) blocking.push(ops[e.op]!.ref);
      deepestReport = {
        blocking: entry === undefined ? blocking : [ops[entry.op]!.ref, ...blocking.filter((r) => r !== ops[entry!.op]!.ref)],
        state,
      };
    }
    const top = stack.pop();
    if (top === undefined) return { kind: 'illegal', steps, linearized: deepest, ...deepestReport };
    state = top.state;
    const i = top.call.op;
    linearized.clear(i);
    toggle(i);
    unlift(top.call);
    entry = top.call.next;
  }
  return { kind: 'ok', steps };
}
