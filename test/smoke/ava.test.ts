import test from 'ava';
import { RangeRequest } from '../../gen/ts/cairn/v1/kv.js';
test('generated code loads', (t) => {
  const bytes = RangeRequest.encode(RangeRequest.fromPartial({ key: Buffer.from('a'), limit: 3 })).finish();
  t.is(RangeRequest.decode(bytes).limit, 3);
});
