// 64-bit integers past 2^53-1 in a request, sent as raw bytes (encoded with the bigint
// stubs of sdk/typescript/gen, as any non-JavaScript client would send them): each call is
// answered with INVALID_ARGUMENT / ERROR_CODE_INTEGER_OUT_OF_RANGE naming the value, not
// INTERNAL "Error deserializing request", and changes nothing. The TypeScript SDK, whose
// revisions are bigints, gets the same answer as a CairnError.
import test, { type ExecutionContext } from 'ava';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode } from '../../gen/ts/cairn/v1/errors.js';
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  CompactRequest,
  PutRequest,
  RangeRequest,
  TxnRequest,
} from '../../sdk/typescript/gen/cairn/v1/kv.js';
import { LeaseRevokeRequest } from '../../sdk/typescript/gen/cairn/v1/lease.js';
import { WatchRequest } from '../../sdk/typescript/gen/cairn/v1/watch.js';
import { CairnClient } from '../../sdk/typescript/src/index.js';
import { errorDetails, startApiNode, status, statusName, type ApiNode } from '../helpers/grpc-clients.js';

const TWO_53 = 2n ** 53n;
const INT64_MAX = 2n ** 63n - 1n;
const passThrough = (b: Buffer): Buffer => b;

/** A unary call with the request as bytes; resolves to the error it failed with (or undefined). */
function rawUnary(client: Client, path: string, request: Uint8Array): Promise<ServiceError | undefined> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, passThrough, passThrough, Buffer.from(request), new Metadata(), {}, (err) => resolve(err ?? undefined));
  });
}

/** Checks the status, the value in the message, and the ErrorInfo of a refused call. */
function outOfRange(t: ExecutionContext, err: ServiceError | undefined, value: bigint): void {
  if (err === undefined) return void t.fail('the call succeeded');
  t.is(err.code, status.INVALID_ARGUMENT, `expected INVALID_ARGUMENT, got ${statusName(err.code)}: ${err.details}`);
  t.regex(err.details, new RegExp(`integer ${value} is beyond this server's range`));
  t.is(errorDetails(err)?.info?.code, ErrorCode.ERROR_CODE_INTEGER_OUT_OF_RANGE);
}

async function setup(t: ExecutionContext): Promise<{ n: ApiNode; client: Client }> {
  const n = await startApiNode(t, 'rocksdb');
  await n.kv.set('sentinel', 'v1');
  const client = new Client(n.address, credentials.createInsecure());
  t.teardown(() => client.close());
  return { n, client };
}

test('a Range at revision 2^53 or 2^63-1 is INVALID_ARGUMENT naming the revision; 2^53-1 is an ordinary future revision', async (t) => {
  const { client } = await setup(t);
  const range = (revision: bigint): Promise<ServiceError | undefined> =>
    rawUnary(
      client,
      '/cairn.v1.KVService/Range',
      RangeRequest.encode(RangeRequest.fromPartial({ key: Buffer.from('sentinel'), revision })).finish(),
    );
  outOfRange(t, await range(TWO_53), TWO_53);
  outOfRange(t, await range(INT64_MAX), INT64_MAX);
  outOfRange(t, await range(-TWO_53), -TWO_53);
  const future = await range(TWO_53 - 1n);
  t.is(future?.code, status.OUT_OF_RANGE, 'the largest safe revision decodes, and is in the future');
  t.is(errorDetails(future!)?.info?.code, ErrorCode.ERROR_CODE_FUTURE_REVISION);
});

test('writes naming an out-of-range lease, compare or revision are refused and change nothing', async (t) => {
  const { n, client } = await setup(t);
  const before = await n.kv.get('sentinel');
  const put = PutRequest.fromPartial({ key: Buffer.from('sentinel'), value: Buffer.from('v2'), lease: INT64_MAX });
  outOfRange(t, await rawUnary(client, '/cairn.v1.KVService/Put', PutRequest.encode(put).finish()), INT64_MAX);
  // Nested two levels down: TxnRequest.compare[0].mod_revision.
  const txn = TxnRequest.fromPartial({
    compare: [
      {
        key: Buffer.from('sentinel'),
        result: Compare_CompareResult.COMPARE_RESULT_LESS,
        target: Compare_CompareTarget.COMPARE_TARGET_MOD,
        targetUnion: { $case: 'modRevision', modRevision: TWO_53 },
      },
    ],
    success: [
      {
        request: {
          $case: 'requestPut',
          requestPut: {
            key: Buffer.from('sentinel'),
            value: Buffer.from('v3'),
            lease: 0n,
            prevKv: false,
            ignoreValue: false,
            ignoreLease: false,
          },
        },
      },
    ],
  });
  outOfRange(t, await rawUnary(client, '/cairn.v1.KVService/Txn', TxnRequest.encode(txn).finish()), TWO_53);
  const compact = CompactRequest.fromPartial({ revision: INT64_MAX });
  outOfRange(t, await rawUnary(client, '/cairn.v1.KVService/Compact', CompactRequest.encode(compact).finish()), INT64_MAX);
  const revoke = LeaseRevokeRequest.fromPartial({ id: TWO_53 });
  outOfRange(t, await rawUnary(client, '/cairn.v1.LeaseService/LeaseRevoke', LeaseRevokeRequest.encode(revoke).finish()), TWO_53);
  const after = await n.kv.get('sentinel');
  t.deepEqual(after.kvs, before.kvs, 'the key is unchanged');
  t.is(after.header?.revision, before.header?.revision, 'no revision was created');
});

test('a watch created at start revision 2^63-1 ends with INVALID_ARGUMENT', async (t) => {
  const { client } = await setup(t);
  const call = client.makeBidiStreamRequest('/cairn.v1.WatchService/Watch', passThrough, passThrough, new Metadata(), {});
  const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
  call.on('data', () => undefined);
  const create = WatchRequest.fromPartial({
    request: { $case: 'createRequest', createRequest: { key: Buffer.from('sentinel'), startRevision: INT64_MAX } },
  });
  call.write(Buffer.from(WatchRequest.encode(create).finish()));
  outOfRange(t, await ended, INT64_MAX);
});

test('the TypeScript SDK gets a CairnError for a bigint revision the server cannot hold', async (t) => {
  const { n } = await setup(t);
  const sdk = new CairnClient({ endpoints: [n.address] });
  t.teardown(() => sdk.close());
  const err = await t.throwsAsync(sdk.get('sentinel', { revision: INT64_MAX }));
  t.like(err, { codeName: 'INVALID_ARGUMENT', cairnCodeName: 'ERROR_CODE_INTEGER_OUT_OF_RANGE' });
  t.is((await sdk.get('sentinel'))?.valueString, 'v1', 'and the client still works');
});
