/**
 * Core `Message` <-> wire `cairn.raft.v1.Message`. Encoding trusts the core except for local
 * message types, which must never leave the member. Decoding trusts nothing: every field a
 * peer sends is checked, and anything odd is a TransportError (the caller counts and drops).
 *
 * Snapshot data never travels inside a message: MsgSnap carries only the metadata, and the
 * data follows in SendSnapshot chunks (see snapshot-sender.ts / snapshot-assembly.ts).
 */
import * as pb from '../../gen/ts/cairn/raft/v1/raft.js';
import { isLocalMessage, MessageType, type Message } from '../raft/message.js';
import { EntryType, NONE, type Entry, type NodeId, type Snapshot } from '../raft/types.js';
import { TransportError, TransportErrorCode } from './errors.js';

/** Every core type, so adding one to the core fails to compile here until it is mapped. */
const TO_WIRE: Record<MessageType, pb.MessageType | undefined> = {
  [MessageType.Hup]: undefined,
  [MessageType.Beat]: undefined,
  [MessageType.CheckQuorum]: undefined,
  [MessageType.Unreachable]: undefined,
  [MessageType.SnapStatus]: undefined,
  [MessageType.Prop]: pb.MessageType.MESSAGE_TYPE_PROP,
  [MessageType.App]: pb.MessageType.MESSAGE_TYPE_APP,
  [MessageType.AppResp]: pb.MessageType.MESSAGE_TYPE_APP_RESP,
  [MessageType.Vote]: pb.MessageType.MESSAGE_TYPE_VOTE,
  [MessageType.VoteResp]: pb.MessageType.MESSAGE_TYPE_VOTE_RESP,
  [MessageType.PreVote]: pb.MessageType.MESSAGE_TYPE_PRE_VOTE,
  [MessageType.PreVoteResp]: pb.MessageType.MESSAGE_TYPE_PRE_VOTE_RESP,
  [MessageType.Snap]: pb.MessageType.MESSAGE_TYPE_SNAP,
  [MessageType.Heartbeat]: pb.MessageType.MESSAGE_TYPE_HEARTBEAT,
  [MessageType.HeartbeatResp]: pb.MessageType.MESSAGE_TYPE_HEARTBEAT_RESP,
  [MessageType.TransferLeader]: pb.MessageType.MESSAGE_TYPE_TRANSFER_LEADER,
  [MessageType.TimeoutNow]: pb.MessageType.MESSAGE_TYPE_TIMEOUT_NOW,
  [MessageType.ReadIndex]: pb.MessageType.MESSAGE_TYPE_READ_INDEX,
  [MessageType.ReadIndexResp]: pb.MessageType.MESSAGE_TYPE_READ_INDEX_RESP,
};

const FROM_WIRE: ReadonlyMap<number, MessageType> = new Map(
  Object.entries(TO_WIRE).flatMap(([core, wire]) => (wire === undefined ? [] : [[wire, core as MessageType] as const])),
);

const ENTRY_TO_WIRE: Record<EntryType, pb.EntryType> = {
  [EntryType.Normal]: pb.EntryType.ENTRY_TYPE_NORMAL,
  [EntryType.ConfChange]: pb.EntryType.ENTRY_TYPE_CONF_CHANGE,
};

const ENTRY_FROM_WIRE: ReadonlyMap<number, EntryType> = new Map([
  [pb.EntryType.ENTRY_TYPE_NORMAL, EntryType.Normal],
  [pb.EntryType.ENTRY_TYPE_CONF_CHANGE, EntryType.ConfChange],
]);

const EMPTY = Buffer.alloc(0);

/** The core's message types that may cross the network. */
export const WIRE_MESSAGE_TYPES: readonly MessageType[] = [...FROM_WIRE.values()];

/** Views bytes as a Buffer without copying (the generated encoder wants Buffers). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Views a decoded Buffer as a plain Uint8Array, the type the core works with. */
function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Encodes a message for a peer. Throws LocalMessageType for types that never leave a member. */
export function encodeMessage(m: Message): pb.Message {
  const type = TO_WIRE[m.type];
  if (type === undefined) {
    throw new TransportError(TransportErrorCode.LocalMessageType, `${m.type} is local to a member and is never sent to a peer`);
  }
  return {
    type,
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, type: ENTRY_TO_WIRE[e.type], data: asBuffer(e.data) })),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    snapshotMetadata:
      m.snapshot === undefined
        ? undefined
        : {
            index: m.snapshot.index,
            term: m.snapshot.term,
            confState: { voters: [...m.snapshot.confState.voters], learners: [...(m.snapshot.confState.learners ?? [])] },
          },
    context: m.context === undefined ? EMPTY : asBuffer(m.context),
    hasContext: m.context !== undefined,
  };
}

/** Who a decoded message must be from and to. */
export interface Addressing {
  /** This member: messages for anyone else are refused. */
  readonly to: NodeId;
  /** The batch's sender, when known: every message in it must come from that member. */
  readonly from?: NodeId;
}

/**
 * Decodes a message from a peer, validating it against `addr`. A MsgSnap decodes with empty
 * snapshot data (the data arrives separately). Throws TransportError on anything malformed.
 */
export function decodeMessage(w: pb.Message, addr: Addressing): Message {
  const type = FROM_WIRE.get(w.type);
  if (type === undefined) throw new TransportError(TransportErrorCode.UnknownMessageType, `unknown message type ${w.type}`);
  // Unreachable with today's enum; guards against a proto that one day names a local type.
  if (isLocalMessage(type)) throw new TransportError(TransportErrorCode.LocalMessageType, `${type} must not arrive from the network`);
  const what = `${type} from member ${w.from}`;
  for (const [name, v] of [
    ['from', w.from],
    ['to', w.to],
    ['term', w.term],
    ['log_term', w.logTerm],
    ['index', w.index],
    ['commit', w.commit],
    ['reject_hint', w.rejectHint],
  ] as const) {
    if (!isUint(v)) throw malformed(`${what}: ${name} ${v} is not a non-negative integer`);
  }
  if (w.from === NONE) throw malformed(`${type}: from is 0 (no member)`);
  if (addr.from !== undefined && w.from !== addr.from) throw malformed(`${what} inside a batch sent by member ${addr.from}`);
  if (w.to !== addr.to) {
    throw new TransportError(TransportErrorCode.WrongRecipient, `${what} is addressed to member ${w.to}, but this is member ${addr.to}`);
  }
  if (!w.hasContext && w.context.length > 0) throw malformed(`${what}: context bytes without has_context`);
  const snapshot = decodeSnapshotMetadata(w, type, what);
  return {
    type,
    from: w.from,
    to: w.to,
    term: w.term,
    logTerm: w.logTerm,
    index: w.index,
    entries: w.entries.map((e, i) => decodeEntry(e, `${what}: entry ${i}`)),
    commit: w.commit,
    reject: w.reject,
    rejectHint: w.rejectHint,
    ...(snapshot !== undefined ? { snapshot } : {}),
    ...(w.hasContext ? { context: asBytes(w.context) } : {}),
  };
}

function decodeEntry(e: pb.Entry, what: string): Entry {
  const type = ENTRY_FROM_WIRE.get(e.type);
  if (type === undefined) throw malformed(`${what}: unknown entry type ${e.type}`);
  if (!isUint(e.term) || !isUint(e.index)) throw malformed(`${what}: bad term ${e.term} or index ${e.index}`);
  return { term: e.term, index: e.index, type, data: asBytes(e.data) };
}

/** MsgSnap must carry metadata and nothing else may, so a stray field cannot go unnoticed. */
function decodeSnapshotMetadata(w: pb.Message, type: MessageType, what: string): Snapshot | undefined {
  const md = w.snapshotMetadata;
  if (type !== MessageType.Snap) {
    if (md !== undefined) throw malformed(`${what}: snapshot metadata on a message that is not MsgSnap`);
    return undefined;
  }
  if (md === undefined) throw malformed(`${what}: no snapshot metadata`);
  const voters = md.confState?.voters ?? [];
  const learners = md.confState?.learners ?? [];
  const badId = (v: number): boolean => !isUint(v) || v === NONE;
  if (!isUint(md.index) || !isUint(md.term) || voters.some(badId) || learners.some(badId) || learners.some((l) => voters.includes(l))) {
    throw malformed(
      `${what}: bad snapshot metadata (index ${md.index}, term ${md.term}, voters ${voters.join(',')}, learners ${learners.join(',')})`,
    );
  }
  const confState = learners.length > 0 ? { voters, learners } : { voters };
  return { index: md.index, term: md.term, confState, data: new Uint8Array(0) };
}

function isUint(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

function malformed(message: string): TransportError {
  return new TransportError(TransportErrorCode.MalformedMessage, message);
}

/** Approximate encoded size, for splitting batches under the receiver's message limit. */
export function approximateWireSize(m: Message): number {
  let n = 64 + (m.context?.byteLength ?? 0);
  for (const e of m.entries) n += e.data.byteLength + 24;
  return n;
}
