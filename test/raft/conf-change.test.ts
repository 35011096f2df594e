import test from 'ava';
import * as pb from '../../gen/ts/cairn/raft/v1/raft.js';
import type { ConfChange } from '../../server/raft/conf-change.js';
import { ConfChangeType, applyConfChange, decodeConfChange, encodeConfChange } from '../../server/raft/conf-change.js';
import { RaftConfig } from '../../server/raft/conf-state.js';
import { InvariantError } from '../../server/raft/errors.js';

const WIRE: Record<ConfChangeType, pb.ConfChangeType> = {
  [ConfChangeType.AddLearner]: pb.ConfChangeType.CONF_CHANGE_TYPE_ADD_LEARNER,
  [ConfChangeType.PromoteLearner]: pb.ConfChangeType.CONF_CHANGE_TYPE_PROMOTE_LEARNER,
  [ConfChangeType.RemoveMember]: pb.ConfChangeType.CONF_CHANGE_TYPE_REMOVE_MEMBER,
};

const samples: ConfChange[] = [
  { type: ConfChangeType.AddLearner, nodeId: 4 },
  { type: ConfChangeType.PromoteLearner, nodeId: 300 },
  { type: ConfChangeType.RemoveMember, nodeId: 2 ** 53 - 1 },
  { type: ConfChangeType.AddLearner, nodeId: 0x1234_5678_9abc, context: new TextEncoder().encode('{"name":"n4","peer":"10.0.0.4:2380"}') },
];

test('the core codec writes exactly what the generated protobuf code writes, and reads it back', (t) => {
  for (const cc of samples) {
    const ours = encodeConfChange(cc);
    const theirs = pb.ConfChange.encode({
      type: WIRE[cc.type],
      nodeId: cc.nodeId,
      context: Buffer.from(cc.context ?? new Uint8Array(0)),
    }).finish();
    t.deepEqual([...ours], [...theirs], `${cc.type} ${cc.nodeId}`);
    t.deepEqual(decodeConfChange(theirs), cc);
    const back = pb.ConfChange.decode(ours);
    t.is(back.nodeId, cc.nodeId);
    t.is(back.type, WIRE[cc.type]);
  }
});

test('malformed conf change data is a broken invariant, not a silent no-op', (t) => {
  t.throws(() => decodeConfChange(Uint8Array.of(0x08)), { instanceOf: InvariantError });
  t.throws(() => decodeConfChange(Uint8Array.of(0x10, 0x04)), { instanceOf: InvariantError, message: /without a known type/ });
  t.throws(() => decodeConfChange(Uint8Array.of(0x08, 0x09, 0x10, 0x04)), { instanceOf: InvariantError });
});

test('applying a change that does not fit leaves the configuration as it was (same on every member)', (t) => {
  const config = new RaftConfig([1, 2, 3], [4]);
  t.is(applyConfChange(config, { type: ConfChangeType.AddLearner, nodeId: 2 }), config);
  t.is(applyConfChange(config, { type: ConfChangeType.PromoteLearner, nodeId: 5 }), config);
  t.deepEqual(applyConfChange(config, { type: ConfChangeType.PromoteLearner, nodeId: 4 }).toConfState(), {
    voters: [1, 2, 3, 4],
    learners: [],
  });
  const single = new RaftConfig([1]);
  t.is(applyConfChange(single, { type: ConfChangeType.RemoveMember, nodeId: 1 }), single, 'the last voter stays');
});
