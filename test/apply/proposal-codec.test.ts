import test from 'ava';
import { Proposal, type Command } from '../../gen/ts/cairn/internal/v1/command.js';
import type { PutRequest, RequestOp } from '../../gen/ts/cairn/v1/kv.js';
import { Compare_CompareResult, Compare_CompareTarget } from '../../gen/ts/cairn/v1/kv.js';
import { decodeProposal, ProposalCodec } from '../../server/apply/proposal-codec.js';
import { Prng } from '../sim/prng.js';

const put = (key: string, fields: Partial<PutRequest> = {}): PutRequest => ({
  key: Buffer.from(key),
  value: Buffer.from(`value of ${key}`),
  lease: 0,
  prevKv: false,
  ignoreValue: false,
  ignoreLease: false,
  ...fields,
});
const putOp = (p: PutRequest): RequestOp => ({ request: { $case: 'requestPut', requestPut: p } });
const txnOf = (puts: PutRequest[]): Command => ({
  request: { $case: 'txn', txn: { compare: [], success: puts.map(putOp), failure: [] } },
  checkedAs: '',
});
const proposal = (command: Command, id = 1): Proposal => ({
  memberId: 7,
  id,
  command,
  limits: { maxLeases: 10_000, maxKeysPerLease: 0 },
  traceparent: '',
});

test('a transaction of plain puts proposed here is applied from the command it was encoded from, once', (t) => {
  const codec = new ProposalCodec();
  const command = txnOf([put('a'), put('b', { lease: 42, prevKv: true })]);
  const data = codec.encode(proposal(command, 5));
  t.deepEqual(data, Proposal.encode(proposal(command, 5)).finish(), 'the bytes are the generated encoder’s');
  const applied = codec.decode(data, 3);
  t.is(applied.command, command);
  t.deepEqual(applied, decodeProposal(Buffer.from(data), 3), 'what any other member decodes from the same bytes');
  // Forgotten once applied: a second apply of the same bytes decodes them.
  const again = codec.decode(data, 3);
  t.not(again.command, command);
  t.deepEqual(again, applied);
});

test('the same bytes at another address (another member, a restart) are decoded', (t) => {
  const codec = new ProposalCodec();
  const command: Command = { request: { $case: 'put', put: put('k') }, checkedAs: 'alice' };
  const data = codec.encode(proposal(command));
  const copy = Uint8Array.from(data);
  t.not(codec.decode(copy, 1).command, command);
  t.is(codec.decode(data, 1).command, command);
});

test('commands the decoder might not give back unchanged are decoded, not remembered', (t) => {
  const codec = new ProposalCodec();
  const compare = {
    result: Compare_CompareResult.COMPARE_RESULT_EQUAL,
    target: Compare_CompareTarget.COMPARE_TARGET_VERSION,
    key: Buffer.from('a'),
    targetUnion: { $case: 'version' as const, version: 0 },
    rangeEnd: Buffer.alloc(0),
  };
  const cases: [string, Command][] = [
    ['a compare', { request: { $case: 'txn', txn: { compare: [compare], success: [putOp(put('a'))], failure: [] } }, checkedAs: '' }],
    ['a failure branch', { request: { $case: 'txn', txn: { compare: [], success: [], failure: [putOp(put('a'))] } }, checkedAs: '' }],
    [
      'a delete',
      {
        request: { $case: 'deleteRange', deleteRange: { key: Buffer.from('a'), rangeEnd: Buffer.alloc(0), prevKv: false } },
        checkedAs: '',
      },
    ],
    ['a key that is no Buffer', { request: { $case: 'put', put: put('a', { key: new Uint8Array([97]) as Buffer }) }, checkedAs: '' }],
    ['a lone surrogate in checked_as', { request: { $case: 'put', put: put('a') }, checkedAs: 'bob\uD800' }],
    ['a compaction', { request: { $case: 'compact', compact: { revision: 3, physical: false } }, checkedAs: '' }],
  ];
  for (const [what, command] of cases) {
    const data = codec.encode(proposal(command));
    t.not(codec.decode(data, 1).command, command, what);
  }
  // A well-formed pair of surrogates is carried unchanged.
  const emoji: Command = { request: { $case: 'put', put: put('a') }, checkedAs: 'carol \u{1F600}' };
  t.is(codec.decode(codec.encode(proposal(emoji)), 1).command, emoji);
});

test('random transactions of plain puts: the remembered proposal equals the decoded one', (t) => {
  const seed = Number(process.env.PROPOSAL_CODEC_SEED ?? Date.now() % 2 ** 31);
  t.log(`seed ${seed} (PROPOSAL_CODEC_SEED=${seed} replays it)`);
  const rng = new Prng(seed);
  const codec = new ProposalCodec();
  const bytes = (max: number): Buffer => Buffer.from(Array.from({ length: rng.nextInt(max + 1) }, () => rng.nextInt(256)));
  for (let i = 0; i < 300; i++) {
    const puts = Array.from({ length: 1 + rng.nextInt(20) }, () =>
      put('', {
        key: Buffer.concat([Buffer.from('k'), bytes(30)]),
        value: bytes(300),
        lease: rng.nextInt(3) === 0 ? 0 : rng.between(-(2 ** 53) + 1, 2 ** 53 - 1),
        prevKv: rng.nextInt(2) === 0,
        ignoreValue: rng.nextInt(5) === 0,
        ignoreLease: rng.nextInt(5) === 0,
      }),
    );
    const command = rng.nextInt(4) === 0 ? { request: { $case: 'put' as const, put: puts[0]! }, checkedAs: '' } : txnOf(puts);
    const data = codec.encode(proposal(command, i + 1));
    const decoded = decodeProposal(Buffer.from(data), i + 1);
    const applied = codec.decode(data, i + 1);
    t.is(applied.command, command, `proposal ${i}`);
    t.deepEqual(applied, decoded, `proposal ${i}`);
  }
});
