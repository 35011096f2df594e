import { RaftConfig } from './conf-state.js';
import { invariant } from './errors.js';
import type { NodeId } from './types.js';
import { NONE } from './types.js';

/**
 * Single-server membership changes (Raft thesis §4.1), proposed through the log as entries of
 * type 'conf-change'. A member always joins as a learner (receives the log, never votes), is
 * promoted to voter once caught up, and may be removed from either role.
 */
export const ConfChangeType = {
  AddLearner: 'add-learner',
  PromoteLearner: 'promote-learner',
  RemoveMember: 'remove-member',
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /**
   * Opaque to the core, replicated with the change: the server records what it needs there
   * (e.g. the member's name and peer address) and reads it back when the change is applied.
   */
  readonly context?: Uint8Array;
}

/** Why a change cannot apply to a configuration; undefined when it can. */
export function confChangeError(config: RaftConfig, cc: ConfChange): string | undefined {
  const id = cc.nodeId;
  if (id === NONE || !Number.isSafeInteger(id) || id < 0) return `invalid member id ${id}`;
  switch (cc.type) {
    case ConfChangeType.AddLearner:
      if (config.isVoter(id)) return `member ${id} is already a voter`;
      if (config.isLearner(id)) return `member ${id} is already a learner`;
      return undefined;
    case ConfChangeType.PromoteLearner:
      if (config.isVoter(id)) return `member ${id} is already a voter`;
      if (!config.isLearner(id)) return `member ${id} is not a learner of the cluster`;
      return undefined;
    case ConfChangeType.RemoveMember:
      if (!config.isMember(id)) return `member ${id} is not a member of the cluster`;
      // Removing the last voter leaves nobody to elect a leader or commit anything, ever.
      if (config.isVoter(id) && config.voters.size === 1) return `removing member ${id} would leave no voter (no quorum)`;
      return undefined;
  }
}

/**
 * The configuration after `cc`. Every member applies committed changes in log order to the
 * same configuration, so a change that cannot apply (the leader validated it against the
 * configuration it was proposed in, so this is defence in depth) is skipped by all of them
 * alike: the result is `config` itself.
 */
export function applyConfChange(config: RaftConfig, cc: ConfChange): RaftConfig {
  if (confChangeError(config, cc) !== undefined) return config;
  const voters = new Set(config.voters);
  const learners = new Set(config.learners);
  switch (cc.type) {
    case ConfChangeType.AddLearner:
      learners.add(cc.nodeId);
      break;
    case ConfChangeType.PromoteLearner:
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case ConfChangeType.RemoveMember:
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      break;
  }
  return new RaftConfig(voters, learners);
}

/*
 * Payload codec. The bytes are the protobuf encoding of cairn.raft.v1.ConfChange
 * (proto/cairn/raft/v1/raft.proto): field 1 type (enum, varint), field 2 node_id (uint64,
 * varint), field 3 context (bytes). The core may import nothing from outside server/raft/, so
 * it carries this small hand-written encoder; test/raft/conf-change.test.ts checks it against
 * the generated code both ways.
 */
const TYPE_TO_WIRE: Record<ConfChangeType, number> = {
  [ConfChangeType.AddLearner]: 1,
  [ConfChangeType.PromoteLearner]: 2,
  [ConfChangeType.RemoveMember]: 3,
};
const WIRE_TO_TYPE = new Map<number, ConfChangeType>(Object.entries(TYPE_TO_WIRE).map(([k, v]) => [v, k as ConfChangeType]));

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out: number[] = [];
  pushTag(out, 1, 0);
  pushVarint(out, TYPE_TO_WIRE[cc.type]);
  pushTag(out, 2, 0);
  pushVarint(out, cc.nodeId);
  if (cc.context !== undefined && cc.context.byteLength > 0) {
    pushTag(out, 3, 2);
    pushVarint(out, cc.context.byteLength);
    for (const b of cc.context) out.push(b);
  }
  return Uint8Array.from(out);
}

/** Decodes a conf-change entry's data. Malformed bytes are a broken invariant (they came from our own log). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let pos = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      invariant(pos < data.byteLength, 'truncated conf change');
      const b = data[pos++]!;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
      invariant(mul <= 2 ** 56, 'conf change varint too long');
    }
  };
  let type: ConfChangeType | undefined;
  let nodeId = NONE;
  let context: Uint8Array | undefined;
  while (pos < data.byteLength) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const v = varint();
      if (field === 1) type = WIRE_TO_TYPE.get(v);
      else if (field === 2) nodeId = v;
    } else if (wire === 2) {
      const len = varint();
      invariant(pos + len <= data.byteLength, 'truncated conf change field');
      if (field === 3) context = data.slice(pos, pos + len);
      pos += len;
    } else {
      invariant(false, () => `unexpected wire type ${wire} in conf change`);
    }
  }
  invariant(type !== undefined, 'conf change without a known type');
  return context === undefined ? { type, nodeId } : { type, nodeId, context };
}

function pushTag(out: number[], field: number, wire: number): void {
  pushVarint(out, field * 8 + wire);
}

function pushVarint(out: number[], value: number): void {
  invariant(Number.isSafeInteger(value) && value >= 0, () => `cannot encode ${value} as a varint`);
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
