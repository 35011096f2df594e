import type { Entry, NodeId, Snapshot } from './types.js';

export const MessageType = {
  /** Local: start an election (pre-vote first if enabled). */
  Hup: 'MsgHup',
  /** Local: leader should broadcast heartbeats. */
  Beat: 'MsgBeat',
  /** Local: leader checks it heard from a quorum recently. */
  CheckQuorum: 'MsgCheckQuorum',
  Prop: 'MsgProp',
  App: 'MsgApp',
  AppResp: 'MsgAppResp',
  Vote: 'MsgVote',
  VoteResp: 'MsgVoteResp',
  PreVote: 'MsgPreVote',
  PreVoteResp: 'MsgPreVoteResp',
  Snap: 'MsgSnap',
  Heartbeat: 'MsgHeartbeat',
  HeartbeatResp: 'MsgHeartbeatResp',
  /** Local (reported by the transport): peer unreachable. */
  Unreachable: 'MsgUnreachable',
  /** Local (reported by the transport): snapshot delivery finished or failed. */
  SnapStatus: 'MsgSnapStatus',
  /** `index` is the proposed new leader; `from` the member asking (etcd puts the transferee in `from`). */
  TransferLeader: 'MsgTransferLeader',
  TimeoutNow: 'MsgTimeoutNow',
  ReadIndex: 'MsgReadIndex',
  ReadIndexResp: 'MsgReadIndexResp',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One Raft message. Fields not meaningful for a type are zero/empty. Messages are immutable
 * once created; the core never mutates a message it received or emitted.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  /** Sender's term; 0 for local messages. */
  readonly term: number;
  /** MsgApp: term of entry `index`. Vote requests: candidate's last log term. Reject hints: term at rejectHint. */
  readonly logTerm: number;
  /** MsgApp: index preceding `entries`. AppResp: last index accepted (or rejected probe index). MsgTransferLeader: the transferee. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly snapshot?: Snapshot;
  /** ReadIndex request id, or CAMPAIGN_TRANSFER on vote requests. */
  readonly context?: Uint8Array;
}

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

export type MessageInit = Pick<Message, 'type'> & Partial<Omit<Message, 'type'>>;

export function makeMessage(init: MessageInit): Message {
  return {
    from: 0,
    to: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: NO_ENTRIES,
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...init,
  };
}

/** Messages the core generates for itself; never accepted from the network. */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.Hup ||
    t === MessageType.Beat ||
    t === MessageType.CheckQuorum ||
    t === MessageType.Unreachable ||
    t === MessageType.SnapStatus
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.PreVoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.Unreachable
  );
}

export function voteResponseType(t: MessageType): MessageType {
  return t === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}

/** Vote-request context marking a campaign started by leadership transfer (bypasses leases). */
export const CAMPAIGN_TRANSFER: Uint8Array = new TextEncoder().encode('CampaignTransfer');

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A stable map key for a byte string. */
export function bytesKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.byteLength; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}
