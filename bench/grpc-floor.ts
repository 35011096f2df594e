/**
 * The floor under a member's per-request CPU (issue 9): a Node process serving Cairn's own
 * KV service definitions over @grpc/grpc-js with the member's server options, whose handlers
 * do nothing but answer. No Raft, no store, no validation, no access check, no metrics: what
 * is left is Node's HTTP/2, grpc-js's per-call layers and the generated protobuf decode and
 * encode, which every Cairn request pays before any of Cairn's own work. bench/grpc-floor.sh
 * drives it with the Go load generator beside etcd, so its CPU per 1,000 requests can be read
 * against etcd's whole cost for the same request.
 *
 *   node --import tsx bench/grpc-floor.ts 127.0.0.1:24301
 *
 * Range answers one key-value of --value-size bytes (the key asked for), the shape of a hit;
 * Put and Txn answer a header, as a write would after it was applied; Status says "leader".
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { KVServiceService, type PutRequest, type RangeRequest, type RangeResponse, type TxnRequest } from '../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceService, type StatusResponse } from '../gen/ts/cairn/v1/maintenance.js';
import type { ResponseHeader } from '../gen/ts/cairn/v1/types.js';
import { grpcServerOptions } from '../server/api/grpc-server-options.js';
import { DEFAULT_LIMITS } from '../server/config.js';

const [address = '127.0.0.1:24301', valueSizeArg = '256'] = process.argv.slice(2);
const value = Buffer.alloc(Number(valueSizeArg), 0x61);
let revision = 1;
const header = (): ResponseHeader => ({ clusterId: 1, memberId: 1, revision, raftTerm: 2 });

function unimplemented(_call: unknown, callback: sendUnaryData<never>): void {
  callback({ code: 12, details: 'not served by the floor server' });
}

const kv = {
  range(call: ServerUnaryCall<RangeRequest, RangeResponse>, callback: sendUnaryData<RangeResponse>): void {
    callback(null, {
      header: header(),
      kvs: [{ key: call.request.key, createRevision: 1, modRevision: revision, version: 1, value, lease: 0 }],
      more: false,
      count: 1,
    });
  },
  put(_call: ServerUnaryCall<PutRequest, unknown>, callback: sendUnaryData<unknown>): void {
    revision += 1;
    callback(null, { header: header(), prevKv: undefined });
  },
  txn(_call: ServerUnaryCall<TxnRequest, unknown>, callback: sendUnaryData<unknown>): void {
    revision += 1;
    callback(null, { header: header(), succeeded: true, responses: [] });
  },
  deleteRange: unimplemented,
  compact: unimplemented,
};

const maintenance = {
  status(_call: unknown, callback: sendUnaryData<StatusResponse>): void {
    callback(null, {
      header: header(),
      version: 'floor',
      name: 'floor',
      leader: 1,
      role: 'leader',
      raftIndex: revision,
      raftTerm: 2,
      raftCommitIndex: revision,
      raftAppliedIndex: revision,
      compactedRevision: 0,
      storageEngine: 'none',
      alarms: [],
      dbSize: 0,
      dbSizeInUse: 0,
    });
  },
};

// The member's own transport settings, so the transport does the same work.
const server = new Server(grpcServerOptions(DEFAULT_LIMITS));
server.addService(KVServiceService, kv);
server.addService(MaintenanceServiceService, maintenance);
server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(`floor server serving on ${address.replace(/:\d+$/, '')}:${port}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
