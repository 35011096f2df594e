/**
 * The client side of test/e2e/multi-host.test.ts, run inside a network namespace (`ip netns
 * exec <ns> node --import tsx multi-host-agent.ts <caFile>`): the test process itself has
 * no address on the test network. Reads one JSON request per line on stdin, answers one
 * JSON line on stdout with the same id:
 *
 *   {id, op:'put', endpoints, key, value}         -> {ok, revision, endpoint} | {ok:false, error}
 *   {id, op:'get', endpoint, key, serializable}   -> {ok, value, revision} | {ok:false, code, error}
 *   {id, op:'status', endpoint}                   -> {ok, leader, role, applied, revision}
 *   {id, op:'hash', endpoint, revision}           -> {ok, hash, revision}
 *   {id, op:'range', endpoint, prefix}            -> {ok, kvs: {key: value}}
 *   {id, op:'load-start', endpoints, prefix}      -> {ok}; sequential puts until load-stop
 *   {id, op:'load-stop'}                          -> {ok, acked: [[key, value]...], failed}
 */
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { KVServiceClient, PutRequest, RangeRequest, type PutResponse, type RangeResponse } from '../../gen/ts/cairn/v1/kv.js';
import { MaintenanceServiceClient, type HashKVResponse, type StatusResponse } from '../../gen/ts/cairn/v1/maintenance.js';

const creds: ChannelCredentials = credentials.createSsl(readFileSync(process.argv[2]!));
const kvClients = new Map<string, KVServiceClient>();
const kv = (endpoint: string): KVServiceClient => {
  let c = kvClients.get(endpoint);
  if (c === undefined) kvClients.set(endpoint, (c = new KVServiceClient(endpoint, creds)));
  return c;
};
const maintenance = new Map<string, MaintenanceServiceClient>();
const mt = (endpoint: string): MaintenanceServiceClient => {
  let c = maintenance.get(endpoint);
  if (c === undefined) maintenance.set(endpoint, (c = new MaintenanceServiceClient(endpoint, creds)));
  return c;
};

function unary<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}
const deadline = (ms: number): { deadline: number } => ({ deadline: Date.now() + ms });
const failure = (err: unknown): Record<string, unknown> => ({ ok: false, code: (err as ServiceError).code, error: (err as Error).message });

async function put(endpoint: string, key: string, value: string): Promise<PutResponse> {
  return unary<PutResponse>((cb) =>
    kv(endpoint).put(PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from(value) }), new Metadata(), deadline(10_000), cb),
  );
}

let load: { stop: boolean; done: Promise<void>; acked: [string, string][]; failed: number } | undefined;

function startLoad(endpoints: string[], prefix: string): void {
  const state = { stop: false, acked: [] as [string, string][], failed: 0, done: Promise.resolve() };
  state.done = (async () => {
    let at = 0;
    for (let i = 0; !state.stop; i++) {
      const key = `${prefix}${String(i).padStart(6, '0')}`;
      const value = `v${i}`;
      try {
        await put(endpoints[at % endpoints.length]!, key, value);
        state.acked.push([key, value]);
      } catch {
        // Not acknowledged (it may or may not have been applied): the next put goes to the next member.
        state.failed++;
        at++;
      }
    }
  })();
  load = state;
}

async function handle(req: Record<string, unknown>): Promise<Record<string, unknown>> {
  const endpoint = req['endpoint'] as string;
  try {
    switch (req['op']) {
      case 'put': {
        let last: unknown;
        for (const e of req['endpoints'] as string[]) {
          try {
            const res = await put(e, req['key'] as string, req['value'] as string);
            return { ok: true, revision: res.header?.revision, endpoint: e };
          } catch (err) {
            last = err;
          }
        }
        return failure(last);
      }
      case 'get': {
        const res = await unary<RangeResponse>((cb) =>
          kv(endpoint).range(
            RangeRequest.fromPartial({ key: Buffer.from(req['key'] as string), serializable: req['serializable'] === true }),
            new Metadata(),
            deadline(20_000),
            cb,
          ),
        );
        return { ok: true, value: res.kvs[0]?.value.toString(), revision: res.header?.revision };
      }
      case 'range': {
        const prefix = Buffer.from(req['prefix'] as string);
        const end = Buffer.from(prefix);
        end[end.length - 1]!++;
        const res = await unary<RangeResponse>((cb) =>
          kv(endpoint).range(RangeRequest.fromPartial({ key: prefix, rangeEnd: end }), new Metadata(), deadline(30_000), cb),
        );
        return { ok: true, kvs: Object.fromEntries(res.kvs.map((k) => [k.key.toString(), k.value.toString()])) };
      }
      case 'status': {
        const res = await unary<StatusResponse>((cb) => mt(endpoint).status({}, new Metadata(), deadline(2_000), cb));
        return { ok: true, leader: res.leader, role: res.role, applied: res.raftAppliedIndex, revision: res.header?.revision };
      }
      case 'hash': {
        const res = await unary<HashKVResponse>((cb) =>
          mt(endpoint).hashKv({ revision: req['revision'] as number }, new Metadata(), deadline(10_000), cb),
        );
        return { ok: true, hash: res.hash, revision: res.revision };
      }
      case 'load-start':
        startLoad(req['endpoints'] as string[], req['prefix'] as string);
        return { ok: true };
      case 'load-stop': {
        if (load === undefined) return { ok: false, error: 'no load running' };
        load.stop = true;
        await load.done;
        return { ok: true, acked: load.acked, failed: load.failed };
      }
      default:
        return { ok: false, error: `unknown op ${String(req['op'])}` };
    }
  } catch (err) {
    return failure(err);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line) as Record<string, unknown>;
  void handle(req).then((res) => process.stdout.write(`${JSON.stringify({ id: req['id'], ...res })}\n`));
});
process.stdin.on('end', () => process.exit(0));
