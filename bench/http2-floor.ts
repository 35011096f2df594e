/**
 * A lower floor than bench/grpc-floor.ts (issue 9): the same answers, served by a minimal
 * gRPC unary server written directly on node:http2, without grpc-js. It parses the 5-byte
 * gRPC frame, decodes the request with the generated decoder, encodes the answer with the
 * generated encoder and ends the stream with `grpc-status: 0` trailers: the least a Node
 * process can do per gRPC request. What it costs per request is what even a hand-written
 * transport on Node's HTTP/2 would leave a member to spend; it handles no deadlines,
 * compression, flow-control tuning, metadata or errors beyond UNIMPLEMENTED, so it is a
 * measuring stick, not a server.
 *
 *   node --import tsx bench/http2-floor.ts 127.0.0.1:24305
 */
import http2 from 'node:http2';
import { PutRequest, PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse } from '../gen/ts/cairn/v1/kv.js';
import { StatusResponse } from '../gen/ts/cairn/v1/maintenance.js';
import type { ResponseHeader } from '../gen/ts/cairn/v1/types.js';

const [address = '127.0.0.1:24305', valueSizeArg = '256'] = process.argv.slice(2);
const value = Buffer.alloc(Number(valueSizeArg), 0x61);
let revision = 1;
const header = (): ResponseHeader => ({ clusterId: 1, memberId: 1, revision, raftTerm: 2 });

/** Each method: the request's protobuf bytes in, the response's protobuf bytes out. */
const methods: Record<string, (request: Buffer) => Uint8Array> = {
  '/cairn.v1.KVService/Range': (request) => {
    const { key } = RangeRequest.decode(request);
    const kvs = [{ key, createRevision: 1, modRevision: revision, version: 1, value, lease: 0 }];
    return RangeResponse.encode({ header: header(), kvs, more: false, count: 1 }).finish();
  },
  '/cairn.v1.KVService/Put': (request) => {
    PutRequest.decode(request);
    revision += 1;
    return PutResponse.encode({ header: header(), prevKv: undefined }).finish();
  },
  '/cairn.v1.KVService/Txn': (request) => {
    TxnRequest.decode(request);
    revision += 1;
    return TxnResponse.encode({ header: header(), succeeded: true, responses: [] }).finish();
  },
  '/cairn.v1.MaintenanceService/Status': () =>
    StatusResponse.encode(
      StatusResponse.fromPartial({ header: header(), version: 'floor', name: 'floor', leader: 1, role: 'leader', raftIndex: revision }),
    ).finish(),
};

const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream, headers) => {
  const method = methods[String(headers[':path'])];
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    if (method === undefined) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      return;
    }
    const frame = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const body = method(frame.subarray(5, 5 + frame.readUInt32BE(1)));
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = 0;
    out.writeUInt32BE(body.length, 1);
    out.set(body, 5);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(out);
  });
});
const [host, port] = [address.replace(/:\d+$/, ''), Number(address.split(':').pop())];
server.listen(port, host, () => console.log(`http2 floor server serving on ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
