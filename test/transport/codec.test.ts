// Core Message <-> wire Message through real protobuf bytes: every wire type round-trips,
// binary entry data and context survive, local types never encode, and malformed input
// from a peer is refused with a TransportError naming the problem.
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import test, { type ExecutionContext } from 'ava';
import * as pb from '../../gen/ts/cairn/raft/v1/raft.js';
import { CAMPAIGN_TRANSFER, isLocalMessage, makeMessage, MessageType, type Message } from '../../server/raft/message.js';
import { EntryType } from '../../server/raft/types.js';
import { decodeMessage, encodeMessage, WIRE_MESSAGE_TYPES } from '../../server/transport/codec.js';
import { TransportError, TransportErrorCode } from '../../server/transport/errors.js';

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** Encodes to bytes and back, as a peer would see it. */
function viaWire(m: Message, addr = { to: m.to, from: m.from }): Message {
  const bytes = pb.Message.encode(encodeMessage(m)).finish();
  return decodeMessage(pb.Message.decode(bytes), addr);
}

/** A wire message as a misbehaving peer might send it. */
function wire(overrides: Partial<pb.Message>): pb.Message {
  return pb.Message.fromPartial({ type: pb.MessageType.MESSAGE_TYPE_HEARTBEAT, from: 2, to: 1, term: 3, ...overrides });
}

function refused(
  t: ExecutionContext,
  w: pb.Message,
  code: TransportErrorCode,
  pattern: RegExp,
  addr: { to: number; from?: number } = { to: 1 },
): void {
  // Through bytes too, so what the generated decoder does with odd values is covered.
  const decoded = pb.Message.decode(pb.Message.encode(w).finish());
  const err = t.throws(() => decodeMessage(decoded, addr), { instanceOf: TransportError });
  t.is(err?.code, code);
  t.regex(err?.message ?? '', pattern);
}

test('every core type but the local ones has a wire type, and those round-trip with all fields', (t) => {
  const local = Object.values(MessageType).filter(isLocalMessage);
  t.deepEqual(
    [...WIRE_MESSAGE_TYPES].sort(),
    Object.values(MessageType)
      .filter((x) => !local.includes(x))
      .sort(),
  );
  t.is(WIRE_MESSAGE_TYPES.length, 14);
  for (const type of WIRE_MESSAGE_TYPES) {
    const m = makeMessage({
      type,
      from: 3,
      to: 1,
      term: 2 ** 40,
      logTerm: 9,
      index: Number.MAX_SAFE_INTEGER,
      commit: 77,
      reject: true,
      rejectHint: 5,
      entries: [
        { term: 9, index: 100, type: EntryType.Normal, data: ALL_BYTES },
        { term: 9, index: 101, type: EntryType.ConfChange, data: new Uint8Array([0, 0, 255]) },
        { term: 9, index: 102, type: EntryType.Normal, data: new Uint8Array(0) },
      ],
      context: new Uint8Array([0, 1, 2, 254, 255]),
      ...(type === MessageType.Snap ? { snapshot: { index: 90, term: 8, confState: { voters: [1, 2, 3] }, data: new Uint8Array(0) } } : {}),
    });
    t.deepEqual(viaWire(m), m, type);
  }
});

test('context: absent, empty and set are three different things on the wire', (t) => {
  const base = { type: MessageType.ReadIndex, from: 2, to: 1, term: 1 } as const;
  const absent = viaWire(makeMessage(base));
  t.false('context' in absent);
  t.deepEqual(viaWire(makeMessage({ ...base, context: new Uint8Array(0) })).context, new Uint8Array(0));
  const vote = viaWire(makeMessage({ ...base, type: MessageType.Vote, context: CAMPAIGN_TRANSFER }));
  t.deepEqual(vote.context, CAMPAIGN_TRANSFER);
});

test('a MsgSnap carries the metadata only; the data travels separately', (t) => {
  const m = makeMessage({
    type: MessageType.Snap,
    from: 1,
    to: 2,
    term: 4,
    snapshot: { index: 50, term: 3, confState: { voters: [1, 2, 3] }, data: ALL_BYTES },
  });
  const w = encodeMessage(m);
  t.deepEqual(w.snapshotMetadata, { index: 50, term: 3, confState: { voters: [1, 2, 3], learners: [] } });
  t.deepEqual(viaWire(m).snapshot, { index: 50, term: 3, confState: { voters: [1, 2, 3] }, data: new Uint8Array(0) });
});

test('local message types are never encoded', (t) => {
  for (const type of Object.values(MessageType).filter(isLocalMessage)) {
    const err = t.throws(() => encodeMessage(makeMessage({ type, from: 1, to: 2 })), { instanceOf: TransportError });
    t.is(err?.code, TransportErrorCode.LocalMessageType, type);
    t.regex(err?.message ?? '', new RegExp(`${type} is local`));
  }
});

test('decoding refuses unknown types, wrong addressing and inconsistent fields', (t) => {
  refused(t, wire({ type: 99 as pb.MessageType }), TransportErrorCode.UnknownMessageType, /unknown message type 99/);
  refused(t, wire({ type: pb.MessageType.MESSAGE_TYPE_UNSPECIFIED }), TransportErrorCode.UnknownMessageType, /unknown message type 0/);
  refused(t, wire({ to: 5 }), TransportErrorCode.WrongRecipient, /addressed to member 5, but this is member 1/);
  refused(t, wire({ from: 0 }), TransportErrorCode.MalformedMessage, /from is 0/);
  refused(t, wire({ from: 3 }), TransportErrorCode.MalformedMessage, /inside a batch sent by member 2/, { to: 1, from: 2 });
  refused(t, wire({ type: pb.MessageType.MESSAGE_TYPE_SNAP }), TransportErrorCode.MalformedMessage, /no snapshot metadata/);
  refused(
    t,
    wire({ snapshotMetadata: { index: 1, term: 1, confState: { voters: [1], learners: [] } } }),
    TransportErrorCode.MalformedMessage,
    /not MsgSnap/,
  );
  refused(
    t,
    wire({ type: pb.MessageType.MESSAGE_TYPE_SNAP, snapshotMetadata: { index: 1, term: 1, confState: { voters: [1, 0], learners: [] } } }),
    TransportErrorCode.MalformedMessage,
    /bad snapshot metadata/,
  );
  refused(
    t,
    wire({ context: Buffer.from('x'), hasContext: false }),
    TransportErrorCode.MalformedMessage,
    /context bytes without has_context/,
  );
  refused(
    t,
    wire({ entries: [{ term: 1, index: 1, type: pb.EntryType.ENTRY_TYPE_UNSPECIFIED, data: Buffer.alloc(0) }] }),
    TransportErrorCode.MalformedMessage,
    /entry 0: unknown entry type 0/,
  );
  // Not representable in protobuf bytes, but the decoder is also reachable with objects.
  t.is(
    t.throws(() => decodeMessage(wire({ term: -1 }), { to: 1 }), { instanceOf: TransportError })?.code,
    TransportErrorCode.MalformedMessage,
  );
  t.is(
    t.throws(() => decodeMessage(wire({ index: 1.5 }), { to: 1 }), { instanceOf: TransportError })?.code,
    TransportErrorCode.MalformedMessage,
  );
});

test('uint64 values beyond 2^53 are refused by the generated decoder, not silently rounded', (t) => {
  // field 4 (term), varint: 2^63
  const bytes = new BinaryWriter()
    .uint32(32)
    .uint64(2n ** 63n)
    .finish();
  t.throws(() => pb.Message.decode(bytes), { message: /MAX_SAFE_INTEGER/ });
});

test('a MsgSnap carries the configuration with its learners', (t) => {
  const confState = { voters: [1, 2, 3], learners: [4, 5] };
  const m = makeMessage({
    type: MessageType.Snap,
    from: 2,
    to: 1,
    term: 3,
    snapshot: { index: 50, term: 3, confState, data: new Uint8Array(0) },
  });
  t.deepEqual(viaWire(m).snapshot?.confState, confState);
  refused(
    t,
    wire({ type: pb.MessageType.MESSAGE_TYPE_SNAP, snapshotMetadata: { index: 1, term: 1, confState: { voters: [1], learners: [1] } } }),
    TransportErrorCode.MalformedMessage,
    /bad snapshot metadata/,
  );
});
