// Fuzz target: a peer's message batch, from the bytes gRPC hands over to the Raft messages
// delivered to the core (StreamRequest.decode, then decodeMessage per message, as
// peer-server.ts does). Random and mutated-valid bytes must end in an Error with a message
// (gRPC answers it as a status; the member goes on), or in messages that satisfy everything
// the core relies on. Never a crash, a hang, or a message that breaks those rules.
import test from 'ava';
import fc from 'fast-check';
import * as pb from '../../gen/ts/cairn/raft/v1/raft.js';
import { makeMessage, MessageType, type Message } from '../../server/raft/message.js';
import { EntryType } from '../../server/raft/types.js';
import { decodeMessage, encodeMessage, WIRE_MESSAGE_TYPES } from '../../server/transport/codec.js';
import { TransportError } from '../../server/transport/errors.js';
import { mutationArb, uintArb } from './arbitraries.js';
import { fuzzParams, mutate } from './fuzz-params.js';

const SELF = 1;
const CLUSTER_ID = 7;

const entryArb = fc.record({
  term: uintArb,
  index: uintArb,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: fc.uint8Array({ maxLength: 64 }),
});

const messageArb: fc.Arbitrary<Message> = fc
  .record({
    type: fc.constantFrom(...WIRE_MESSAGE_TYPES),
    from: fc.integer({ min: 2, max: 5 }),
    term: uintArb,
    logTerm: uintArb,
    index: uintArb,
    commit: uintArb,
    reject: fc.boolean(),
    rejectHint: uintArb,
    entries: fc.array(entryArb, { maxLength: 4 }),
    context: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: undefined }),
    snapshotIndex: uintArb,
    voters: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 5 }),
  })
  .map(({ snapshotIndex, voters, context, ...m }) =>
    makeMessage({
      ...m,
      to: SELF,
      ...(context !== undefined ? { context } : {}),
      ...(m.type === MessageType.Snap
        ? { snapshot: { index: snapshotIndex, term: m.term, confState: { voters }, data: new Uint8Array(0) } }
        : {}),
    }),
  );

/** A batch as a peer's stream sends it: every message from the same member. */
const batchArb = fc.tuple(fc.integer({ min: 2, max: 5 }), fc.array(messageArb, { maxLength: 4 })).map(([from, messages]) => ({
  from,
  messages: messages.map((m) => ({ ...m, from })),
}));

function encodeBatch(from: number, messages: readonly Message[]): Uint8Array {
  return pb.StreamRequest.encode({ clusterId: CLUSTER_ID, from, messages: messages.map(encodeMessage) }).finish();
}

/** What peer-server.ts does with a batch's bytes; returns the messages or the error. */
function receive(bytes: Uint8Array): { messages: Message[] } | { error: Error } {
  try {
    const req = pb.StreamRequest.decode(bytes);
    return { messages: req.messages.map((w) => decodeMessage(w, { to: SELF, from: req.from })) };
  } catch (err) {
    if (!(err instanceof Error)) throw new Error(`decoding threw a non-Error: ${String(err)}`);
    return { error: err };
  }
}

const isUint = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/** What the Raft core may assume of a message from the network. */
function assertDeliverable(m: Message): void {
  const problems: string[] = [];
  if (!WIRE_MESSAGE_TYPES.includes(m.type)) problems.push(`type ${m.type} may not come from a peer`);
  if (m.to !== SELF) problems.push(`addressed to ${m.to}`);
  if (!(isUint(m.from) && m.from !== 0)) problems.push(`from ${m.from}`);
  for (const v of [m.term, m.logTerm, m.index, m.commit, m.rejectHint]) if (!isUint(v)) problems.push(`field value ${v}`);
  for (const e of m.entries) if (!isUint(e.term) || !isUint(e.index)) problems.push(`entry ${e.index}/${e.term}`);
  if ((m.type === MessageType.Snap) !== (m.snapshot !== undefined)) problems.push('snapshot metadata on the wrong type');
  if (m.snapshot !== undefined && m.snapshot.confState.voters.some((v) => !isUint(v) || v === 0)) problems.push('bad voter');
  if (problems.length > 0) throw new Error(`an undeliverable message was accepted: ${problems.join('; ')}`);
}

test('valid batches decode to exactly what was sent', (t) => {
  fc.assert(
    fc.property(batchArb, ({ from, messages }) => {
      const got = receive(encodeBatch(from, messages));
      if ('error' in got) throw got.error;
      t.deepEqual(
        got.messages.map((m) => ({ ...m, entries: m.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })) })),
        messages.map((m) => ({ ...m, entries: m.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })) })),
      );
    }),
    fuzzParams(t, import.meta.url, 200),
  );
  t.pass();
});

test('random bytes are refused with an Error or decode to deliverable messages', (t) => {
  let refused = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const got = receive(bytes);
      if ('error' in got) refused++;
      else got.messages.forEach(assertDeliverable);
    }),
    fuzzParams(t, import.meta.url, 1000),
  );
  t.log(`${refused} refused`);
  t.pass();
});

test('mutated valid batches are refused with an Error or decode to deliverable messages', (t) => {
  const seen = { refused: 0, transport: 0 };
  fc.assert(
    fc.property(batchArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), ({ from, messages }, mutations) => {
      const bytes = mutations.reduce<Uint8Array>((b, m) => mutate(b, m), encodeBatch(from, messages));
      const got = receive(bytes);
      if ('error' in got) {
        seen.refused++;
        if (got.error instanceof TransportError) seen.transport++;
        if (got.error.message === '') throw new Error('refused without a message');
      } else {
        got.messages.forEach(assertDeliverable);
      }
    }),
    fuzzParams(t, import.meta.url, 1000),
  );
  t.log(`${seen.refused} refused, ${seen.transport} of them by the codec's checks`);
  t.pass();
});
