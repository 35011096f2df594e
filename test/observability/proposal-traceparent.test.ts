/**
 * The leader finds a write's trace context in the Proposal envelope without decoding the
 * command (server/node/raft-tracing.ts reads the field by number). A proposal encoded by the
 * generated codec, with every other field set, must give back exactly its traceparent: if
 * the proto's field numbers move, this fails instead of the traces silently losing the
 * leader's spans.
 */
import test from 'ava';
import { Proposal } from '../../gen/ts/cairn/internal/v1/command.js';
import { readTraceparent } from '../../server/node/raft-tracing.js';
import { EntryType } from '../../server/raft/types.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function entry(proposal: Partial<Proposal>): { term: number; index: number; type: EntryType; data: Uint8Array } {
  const full = Proposal.fromPartial({
    memberId: 7,
    id: 42,
    command: { request: { $case: 'put', put: { key: Buffer.from('k'), value: Buffer.from('v') } } },
    limits: { maxLeases: 10, maxKeysPerLease: 5 },
    ...proposal,
  });
  return { term: 1, index: 1, type: EntryType.Normal, data: Proposal.encode(full).finish() };
}

test('the traceparent of a proposal with every field set is read back exactly', (t) => {
  t.is(readTraceparent(entry({ traceparent: TRACEPARENT })), TRACEPARENT);
});

test('an untraced proposal has no traceparent', (t) => {
  t.is(readTraceparent(entry({ traceparent: '' })), '');
});
